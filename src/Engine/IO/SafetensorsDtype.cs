using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.IO;

/// <summary>The dtype names of the safetensors header and the <see cref="ScalarType"/> each maps to.</summary>
public static class SafetensorsDtype
{
    private static readonly Dictionary<string, ScalarType> ByName = new(StringComparer.Ordinal)
    {
        ["F64"] = ScalarType.Float64,
        ["F32"] = ScalarType.Float32,
        ["F16"] = ScalarType.Float16,
        ["BF16"] = ScalarType.BFloat16,
        ["I64"] = ScalarType.Int64,
        ["I32"] = ScalarType.Int32,
        ["I16"] = ScalarType.Int16,
        ["I8"] = ScalarType.Int8,
        ["U8"] = ScalarType.Byte,
        ["BOOL"] = ScalarType.Bool,
    };

    /// <summary>The header names this reader understands, e.g. "F32", "BF16", "BOOL".</summary>
    public static IReadOnlyCollection<string> SupportedNames => ByName.Keys;

    /// <summary>Maps a header dtype name (case-sensitive, as written by safetensors) to a scalar type.</summary>
    /// <returns>False for names this reader does not support (F8_E4M3, U16, ...).</returns>
    public static bool TryParse(string name, out ScalarType type) => ByName.TryGetValue(name, out type);

    /// <summary>The header name of a scalar type, e.g. "F32" for <see cref="ScalarType.Float32"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The type has no safetensors name.</exception>
    public static string ToName(ScalarType type) => type switch
    {
        ScalarType.Float64 => "F64",
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "no safetensors dtype for this scalar type"),
    };
}
