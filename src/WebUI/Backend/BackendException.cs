namespace TLoRA.WebUI.Backend;

/// <summary>A refused or failed backend call, as the REST API would answer it: an HTTP-like status, a short title,
/// the detail, and for an invalid request the errors of each field at fault (REST names, e.g. "minRank").</summary>
public sealed class BackendException(int status, string title, string detail, IReadOnlyDictionary<string, string[]>? errors = null,
    Exception? inner = null) : Exception(detail, inner)
{
    public int Status { get; } = status;
    public string Title { get; } = title;
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors ?? new Dictionary<string, string[]>();

    /// <summary>The service is down or unreachable (the user can retry later).</summary>
    public bool Unavailable => Status == 503;

    /// <summary>Adds each field's errors to a form's <paramref name="errors"/> (shown next to the fields); false when
    /// the refusal named no field.</summary>
    public bool ShowOn(IDictionary<string, string> errors)
    {
        foreach (var (field, messages) in Errors) errors[field] = string.Join("; ", messages);
        return Errors.Count > 0;
    }
}
