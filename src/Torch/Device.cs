namespace TLoRA.Torch;

public enum DeviceType { CPU = 0, CUDA = 1 }

/// <summary>A device: <c>cpu</c> or <c>cuda:N</c>.</summary>
public readonly record struct Device(DeviceType type, int index = 0)
{
    public static readonly Device CPU = new(DeviceType.CPU);
    public static Device CUDA(int index = 0) => new(DeviceType.CUDA, index);

    /// <summary>Parses "cpu", "cuda" or "cuda:N".</summary>
    public static Device Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = text.Trim().ToLowerInvariant();
        if (s == "cpu") return CPU;
        if (s == "cuda") return CUDA(0);
        if (s.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(s.AsSpan(5), out var i) && i >= 0) return CUDA(i);
        throw new FormatException($"unknown device '{text}': expected cpu, cuda or cuda:N");
    }

    public override string ToString() => type == DeviceType.CPU ? "cpu" : $"cuda:{index}";
}
