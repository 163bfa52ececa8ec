using System.Buffers.Binary;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.IO;

/// <summary>Parses and validates a safetensors header against the size of the file it came from.</summary>
internal sealed class SafetensorsHeader
{
    /// <summary>Largest header accepted (the reference implementation uses the same bound).</summary>
    internal const long MaxHeaderBytes = 100L * 1024 * 1024;

    internal const string MetadataKey = "__metadata__";

    private SafetensorsHeader(List<SafetensorsEntry> entries, Dictionary<string, string> metadata, long dataStart)
    {
        Entries = entries;
        Metadata = metadata;
        DataStart = dataStart;
    }

    /// <summary>Tensors in header order.</summary>
    internal List<SafetensorsEntry> Entries { get; }

    internal Dictionary<string, string> Metadata { get; }

    /// <summary>Absolute file position of the data buffer (8 + header length).</summary>
    internal long DataStart { get; }

    /// <summary>Reads the length prefix and the header of <paramref name="file"/> and validates every entry.</summary>
    internal static SafetensorsHeader Read(string path, Microsoft.Win32.SafeHandles.SafeFileHandle file)
    {
        var fileLength = RandomAccess.GetLength(file);
        if (fileLength < 8)
            throw new SafetensorsException(path, $"file is {fileLength} bytes, too short for the 8-byte header length of a safetensors file");
        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(path, file, prefix, 0);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > MaxHeaderBytes)
            throw new SafetensorsException(path, $"header length {headerLength} bytes is absurd (limit {MaxHeaderBytes}): not a safetensors file or corrupt");
        if ((long)headerLength > fileLength - 8)
            throw new SafetensorsException(path, $"header length {headerLength} bytes is larger than the file ({fileLength} bytes): truncated or not a safetensors file");
        var json = new byte[headerLength];
        ReadExactly(path, file, json, 8);
        var dataStart = 8 + (long)headerLength;
        return Parse(path, json, dataStart, fileLength - dataStart);
    }

    /// <summary>Parses the header JSON and checks it against a data buffer of <paramref name="dataLength"/> bytes.</summary>
    internal static SafetensorsHeader Parse(string path, ReadOnlyMemory<byte> json, long dataStart, long dataLength)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new SafetensorsException(path, $"header is not valid JSON: {e.Message}", inner: e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new SafetensorsException(path, $"header must be a JSON object, found {doc.RootElement.ValueKind}");
            var entries = new List<SafetensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw new SafetensorsException(path, $"header lists '{property.Name}' twice", property.Name);
                if (property.Name == MetadataKey)
                    ReadMetadata(path, property.Value, metadata);
                else
                    entries.Add(ParseEntry(path, property.Name, property.Value, dataStart, dataLength));
            }
            CheckOverlaps(path, entries);
            return new SafetensorsHeader(entries, metadata, dataStart);
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsException(path, $"'{MetadataKey}' must be an object of strings, found {value.ValueKind}");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new SafetensorsException(path, $"'{MetadataKey}' value of '{item.Name}' must be a string, found {item.Value.ValueKind}");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static SafetensorsEntry ParseEntry(string path, string name, JsonElement value, long dataStart, long dataLength)
    {
        SafetensorsException Fail(string what) => new(path, $"tensor '{name}' {what}", name);

        if (value.ValueKind != JsonValueKind.Object)
            throw Fail($"must be an object with dtype, shape and data_offsets, found {value.ValueKind}");
        if (!value.TryGetProperty("dtype", out var dtypeElement))
            throw Fail("has no 'dtype'");
        if (!value.TryGetProperty("shape", out var shapeElement))
            throw Fail("has no 'shape'");
        if (!value.TryGetProperty("data_offsets", out var offsetsElement))
            throw Fail("has no 'data_offsets'");

        if (dtypeElement.ValueKind != JsonValueKind.String)
            throw Fail($"has a 'dtype' that is not a string ({dtypeElement.ValueKind})");
        var dtypeName = dtypeElement.GetString()!;
        if (!SafetensorsDtype.TryParse(dtypeName, out var dtype))
            throw Fail($"has unsupported dtype '{dtypeName}' (supported: {string.Join(", ", SafetensorsDtype.SupportedNames)})");

        var shape = ReadIntegers(shapeElement, "shape", Fail, allowNegative: true);
        for (var i = 0; i < shape.Length; i++)
            if (shape[i] < 0)
                throw Fail($"has negative dimension {shape[i]} at index {i} of shape {SafetensorsEntry.FormatShape(shape)}");

        var offsets = ReadIntegers(offsetsElement, "data_offsets", Fail, allowNegative: false);
        if (offsets.Length != 2)
            throw Fail($"needs 2 data_offsets [begin, end], found {offsets.Length}");
        var (begin, end) = (offsets[0], offsets[1]);
        if (begin > end)
            throw Fail($"has data_offsets out of order: begin {begin} > end {end}");
        if (end > dataLength)
            throw Fail($"has data_offsets [{begin}, {end}] beyond the data buffer ({dataLength} bytes): file truncated or corrupt");

        long expected;
        try
        {
            expected = checked(SafetensorsEntry.Product(shape) * dtype.ElementSize());
        }
        catch (OverflowException)
        {
            throw Fail($"has shape {SafetensorsEntry.FormatShape(shape)} whose size overflows");
        }
        if (expected != end - begin)
            throw Fail($"needs {expected} bytes (shape {SafetensorsEntry.FormatShape(shape)}, {dtypeName}) but data_offsets span {end - begin}");
        return new SafetensorsEntry(name, dtype, shape, begin, end, dataStart);
    }

    private static long[] ReadIntegers(JsonElement element, string field, Func<string, SafetensorsException> fail, bool allowNegative)
    {
        if (element.ValueKind != JsonValueKind.Array)
            throw fail($"has a '{field}' that is not a list ({element.ValueKind})");
        var values = new long[element.GetArrayLength()];
        var i = 0;
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var v))
                throw fail($"has a '{field}' entry that is not an integer: {item.GetRawText()}");
            if (v < 0 && !allowNegative)
                throw fail($"has a negative '{field}' entry {v}");
            values[i++] = v;
        }
        return values;
    }

    private static void CheckOverlaps(string path, List<SafetensorsEntry> entries)
    {
        SafetensorsEntry? previous = null;
        foreach (var e in entries.Where(e => e.ByteLength > 0).OrderBy(e => e.DataBegin).ThenBy(e => e.DataEnd))
        {
            if (previous is not null && e.DataBegin < previous.DataEnd)
                throw new SafetensorsException(path,
                    $"tensor '{e.Name}' [{e.DataBegin}, {e.DataEnd}) overlaps tensor '{previous.Name}' [{previous.DataBegin}, {previous.DataEnd})",
                    e.Name);
            if (previous is null || e.DataEnd > previous.DataEnd) previous = e;
        }
    }

    /// <summary>Fills <paramref name="buffer"/> from <paramref name="offset"/>; a short read means the file shrank.</summary>
    internal static void ReadExactly(string path, Microsoft.Win32.SafeHandles.SafeFileHandle file, Span<byte> buffer, long offset)
    {
        while (!buffer.IsEmpty)
        {
            var n = RandomAccess.Read(file, buffer, offset);
            if (n <= 0)
                throw new SafetensorsException(path, $"unexpected end of file at byte {offset} (file truncated while open?)");
            buffer = buffer[n..];
            offset += n;
        }
    }
}
