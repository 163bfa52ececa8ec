using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.IO;

/// <summary>
/// Moves a contiguous CPU tensor's bytes to and from files without a managed copy. <see cref="Tensor.bytes"/> is a
/// <see cref="Span{T}"/> and so limited to int.MaxValue bytes: larger tensors are handled as consecutive slices of a
/// flat view (<c>view(-1).narrow(0, start, n)</c>), each at most <see cref="ChunkBytes"/> long.
/// </summary>
internal static class TensorBytes
{
    private const int DefaultChunkBytes = 1 << 30;

    /// <summary>Largest span handed to one read or write; tests lower it to exercise the chunked path.</summary>
    internal static int ChunkBytes { get; set; } = DefaultChunkBytes;

    /// <summary>Calls <paramref name="action"/> with consecutive writable spans covering all of
    /// <paramref name="tensor"/>'s bytes (a contiguous CPU tensor) and each span's byte offset in the tensor.</summary>
    internal static void ForEachChunk(Tensor tensor, Action<Span<byte>, long> action)
    {
        var elementSize = tensor.element_size();
        var count = tensor.numel();
        var total = count * elementSize;
        if (total == 0) return; // an empty tensor may have no storage at all: data_ptr is null
        if (total <= ChunkBytes)
        {
            action(tensor.bytes, 0);
            return;
        }
        var perChunk = Math.Max(1, ChunkBytes / elementSize);
        using var flat = tensor.view(-1).DetachFromDisposeScope();
        for (long start = 0; start < count; start += perChunk)
        {
            var n = Math.Min(perChunk, count - start);
            using var piece = flat.narrow(0, start, n).DetachFromDisposeScope();
            action(piece.bytes, start * elementSize);
        }
    }

    /// <summary>Fills a contiguous CPU tensor with the bytes at <paramref name="fileOffset"/> of a file.</summary>
    internal static void ReadInto(Tensor tensor, string path, Microsoft.Win32.SafeHandles.SafeFileHandle file, long fileOffset) =>
        ForEachChunk(tensor, (span, at) => SafetensorsHeader.ReadExactly(path, file, span, fileOffset + at));

    /// <summary>Writes the bytes of a contiguous CPU tensor to <paramref name="stream"/>.</summary>
    internal static void WriteTo(Tensor tensor, Stream stream) =>
        ForEachChunk(tensor, (span, _) => stream.Write(span));
}
