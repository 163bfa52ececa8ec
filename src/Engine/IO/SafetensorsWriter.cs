using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.IO;

/// <summary>Writes safetensors files atomically: a temporary file in the target folder is written, flushed to disk
/// and then moved over the target, so an existing file is replaced whole or not at all.</summary>
public static class SafetensorsWriter
{
    /// <summary>Saves <paramref name="tensors"/> (any device, any layout) sorted by name, with optional metadata.</summary>
    /// <param name="path">The file to create or replace; its folder is created if missing.</param>
    /// <param name="tensors">Name to tensor; names must be non-empty and not <c>__metadata__</c>.</param>
    /// <param name="metadata">Written as the header's <c>__metadata__</c> when given and non-empty.</param>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var full = System.IO.Path.GetFullPath(path);
        var folder = System.IO.Path.GetDirectoryName(full)!;
        var ordered = tensors.OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        var header = BuildHeader(ordered, metadata, out var layout);

        Directory.CreateDirectory(folder);
        var temp = System.IO.Path.Combine(folder, $".{System.IO.Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> prefix = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
                stream.Write(prefix);
                stream.Write(header);
                for (var i = 0; i < ordered.Count; i++)
                    WriteData(ordered[i].Value, layout[i], stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>The header JSON, padded with spaces to a multiple of 8 bytes; <paramref name="layout"/> gets each
    /// tensor's byte length in order.</summary>
    internal static byte[] BuildHeader(List<KeyValuePair<string, Tensor>> ordered, IReadOnlyDictionary<string, string>? metadata, out long[] layout)
    {
        layout = new long[ordered.Count];
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafetensorsHeader.MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    if (value is null) throw new ArgumentException($"metadata value of '{key}' is null", nameof(metadata));
                    json.WriteString(key, value);
                }
                json.WriteEndObject();
            }
            long offset = 0;
            for (var i = 0; i < ordered.Count; i++)
            {
                var (name, tensor) = ordered[i];
                if (string.IsNullOrEmpty(name) || name == SafetensorsHeader.MetadataKey)
                    throw new ArgumentException($"invalid tensor name '{name}'", "tensors");
                if (tensor is null) throw new ArgumentException($"tensor '{name}' is null", "tensors");
                ObjectDisposedException.ThrowIf(tensor.IsInvalid, tensor);
                var dtype = tensor.dtype;
                var shape = tensor.shape;
                var bytes = checked(SafetensorsEntry.Product(shape) * dtype.ElementSize());
                json.WriteStartObject(name);
                json.WriteString("dtype", SafetensorsDtype.ToName(dtype));
                json.WriteStartArray("shape");
                foreach (var d in shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                layout[i] = bytes;
                offset += bytes;
            }
            json.WriteEndObject();
        }
        var padded = (buffer.Length + 7) / 8 * 8;
        while (buffer.Length < padded) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    private static void WriteData(Tensor tensor, long expectedBytes, Stream stream)
    {
        using var dense = tensor.contiguous().DetachFromDisposeScope();
        using var cpu = dense.cpu().DetachFromDisposeScope();
        var bytes = cpu.numel() * cpu.element_size();
        if (bytes != expectedBytes)
            throw new InvalidOperationException($"tensor changed size while being saved: {bytes} bytes, header says {expectedBytes}");
        TensorBytes.WriteTo(cpu, stream);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
