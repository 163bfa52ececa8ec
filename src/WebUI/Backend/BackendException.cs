namespace TLoRA.WebUI.Backend;

/// <summary>A refused or failed backend call, as the REST API would answer it: an HTTP-like status, a short title,
/// the detail, and the request field at fault when the service named one (camelCase, e.g. "minRank").</summary>
public sealed class BackendException(int status, string title, string detail, string? field, Exception? inner = null)
    : Exception(detail, inner)
{
    public int Status { get; } = status;
    public string Title { get; } = title;
    public string? Field { get; } = field;

    /// <summary>The service is down or unreachable (the user can retry later).</summary>
    public bool Unavailable => Status == 503;

    /// <summary>"detail" with the leading "field: " removed, for showing next to the field itself.</summary>
    public string FieldMessage => Field is not null && Message.IndexOf(": ", StringComparison.Ordinal) is var i and > 0 ? Message[(i + 2)..] : Message;
}
