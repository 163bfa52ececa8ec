namespace TLoRA.Engine.IO;

/// <summary>A checkpoint does not fit a module: every missing, unexpected and mis-shaped key is named.</summary>
public sealed class StateDictException(string module, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
    IReadOnlyList<string> misshaped) : Exception(Describe(module, missing, unexpected, misshaped))
{
    public IReadOnlyList<string> Missing { get; } = missing;
    public IReadOnlyList<string> Unexpected { get; } = unexpected;
    public IReadOnlyList<string> Misshaped { get; } = misshaped;

    private static string Describe(string module, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
        IReadOnlyList<string> misshaped)
    {
        var parts = new List<string>();
        if (missing.Count > 0) parts.Add($"missing keys ({missing.Count}): {string.Join(", ", missing)}");
        if (unexpected.Count > 0) parts.Add($"unexpected keys ({unexpected.Count}): {string.Join(", ", unexpected)}");
        if (misshaped.Count > 0) parts.Add($"mis-shaped keys ({misshaped.Count}): {string.Join("; ", misshaped)}");
        return $"cannot load state into {module}: {string.Join("; ", parts)}";
    }
}
