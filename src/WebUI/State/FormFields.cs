using System.Globalization;

namespace TLoRA.WebUI.State;

/// <summary>Reads a posted form's fields by name; a value that does not parse becomes an error on its field and the
/// fallback is kept, so the form re-renders with every problem named.</summary>
internal sealed class FormFields(Func<string, string?> field, IDictionary<string, string> errors)
{
    public int Int(string name, int fallback)
    {
        var text = field(name);
        if (string.IsNullOrWhiteSpace(text)) return fallback;
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)) return v;
        errors[name] = $"'{text}' is not a whole number";
        return fallback;
    }

    public double Double(string name, double fallback)
    {
        var text = field(name);
        if (string.IsNullOrWhiteSpace(text)) return fallback;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)) return v;
        errors[name] = $"'{text}' is not a number";
        return fallback;
    }

    /// <summary>A seed: empty or unparsable reads as 0 (the service's default seed).</summary>
    public ulong Seed(string name) => ulong.TryParse(field(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : 0;

    /// <summary>A multi-line text as the browser posts it, with the \r of its line breaks removed.</summary>
    public string Lines(string name) => (field(name) ?? "").Replace("\r", "", StringComparison.Ordinal);
}
