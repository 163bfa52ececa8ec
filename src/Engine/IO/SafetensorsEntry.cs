using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.IO;

/// <summary>One tensor's header record: dtype, shape and where its bytes are.</summary>
public sealed class SafetensorsEntry
{
    internal SafetensorsEntry(string name, ScalarType dtype, long[] shape, long dataBegin, long dataEnd, long dataStart)
    {
        Name = name;
        Dtype = dtype;
        this.shape = shape;
        DataBegin = dataBegin;
        DataEnd = dataEnd;
        FileOffset = dataStart + dataBegin;
    }

    private readonly long[] shape;

    /// <summary>The tensor's name (the header key).</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public ScalarType Dtype { get; }

    /// <summary>The dtype as the header names it, e.g. "F32".</summary>
    public string DtypeName => SafetensorsDtype.ToName(Dtype);

    /// <summary>The dimensions (a copy; empty for a 0-dim scalar).</summary>
    public long[] Shape => (long[])shape.Clone();

    /// <summary>Number of dimensions.</summary>
    public int Rank => shape.Length;

    /// <summary>Number of elements (1 for a scalar, 0 when any dimension is 0).</summary>
    public long ElementCount => Product(shape);

    /// <summary>Start of the bytes, relative to the data buffer (the header's data_offsets[0]).</summary>
    public long DataBegin { get; }

    /// <summary>End of the bytes (exclusive), relative to the data buffer (the header's data_offsets[1]).</summary>
    public long DataEnd { get; }

    /// <summary>Absolute position of the first byte in the file.</summary>
    public long FileOffset { get; }

    /// <summary>Number of bytes: <see cref="ElementCount"/> times the element size.</summary>
    public long ByteLength => DataEnd - DataBegin;

    /// <summary>The shape as text, e.g. "[4, 4]".</summary>
    public string ShapeText => FormatShape(shape);

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {DtypeName} {ShapeText} @ [{DataBegin}, {DataEnd})";

    internal static string FormatShape(long[] dims) => "[" + string.Join(", ", dims) + "]";

    /// <summary>Product of the dimensions; throws <see cref="OverflowException"/> past long.</summary>
    internal static long Product(long[] dims)
    {
        long n = 1;
        foreach (var d in dims) n = checked(n * d);
        return n;
    }
}
