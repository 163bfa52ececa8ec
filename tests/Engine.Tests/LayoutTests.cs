using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests;

/// <summary>The on-disk layout, checked against bytes built by hand.</summary>
public sealed class LayoutTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    // a = [1.5f, -2f] as F32 little-endian, then b = [1, -1, 256] as I16 little-endian.
    private static readonly byte[] Data = [0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0x00, 0xC0, 0x01, 0x00, 0xFF, 0xFF, 0x00, 0x01];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Reads_a_hand_made_file(bool pad)
    {
        const string header = "{\"__metadata__\":{\"format\":\"pt\"}," +
                              "\"b\":{\"dtype\":\"I16\",\"shape\":[3],\"data_offsets\":[8,14]}," +
                              "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        var bytes = TempDir.Build(header, Data, pad);
        var headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(pad, headerLength % 8 == 0);
        var path = dir.Write("hand.safetensors", bytes);

        using var scope = torch.NewDisposeScope();
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["b", "a"], file.Names);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(8 + headerLength, file.DataStart);
        var a = file.Entries["a"];
        Assert.Equal(ScalarType.Float32, a.Dtype);
        Assert.Equal(new long[] { 2 }, a.Shape);
        Assert.Equal((0L, 8L, 8L + headerLength), (a.DataBegin, a.DataEnd, a.FileOffset));
        var b = file.Entries["b"];
        Assert.Equal(ScalarType.Int16, b.Dtype);
        Assert.Equal((8L, 14L, 8L + headerLength + 8), (b.DataBegin, b.DataEnd, b.FileOffset));

        Assert.Equal(new[] { 1.5f, -2f }, file.Read("a").ToArray<float>());
        Assert.Equal(new short[] { 1, -1, 256 }, file.Read("b").ToArray<short>());
    }

    [Fact]
    public void Writer_output_has_the_documented_layout()
    {
        using var scope = torch.NewDisposeScope();
        var path = dir.File("w.safetensors");
        var tensors = new Dictionary<string, Tensor>
        {
            ["b"] = torch.tensor(new short[] { 1, -1, 256 }),
            ["a"] = torch.tensor(new[] { 1.5f, -2f }),
        };
        SafetensorsWriter.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
        var bytes = File.ReadAllBytes(path);

        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, n % 8);
        Assert.Equal(8 + n + Data.Length, bytes.Length);
        var headerText = Encoding.UTF8.GetString(bytes, 8, n);
        var json = headerText.TrimEnd(' ');
        Assert.EndsWith("}", json);
        Assert.True(n - json.Length < 8, "padding is less than 8 bytes");
        Assert.All(headerText[json.Length..], c => Assert.Equal(' ', c));

        using var doc = JsonDocument.Parse(json);
        var keys = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["__metadata__", "a", "b"], keys); // sorted by name, metadata first
        Assert.Equal("pt", doc.RootElement.GetProperty("__metadata__").GetProperty("format").GetString());
        AssertEntry(doc.RootElement.GetProperty("a"), "F32", [2], [0, 8]);
        AssertEntry(doc.RootElement.GetProperty("b"), "I16", [3], [8, 14]);
        Assert.Equal(Data, bytes[(8 + n)..]);
    }

    [Fact]
    public void Writer_output_equals_the_hand_made_bytes()
    {
        using var scope = torch.NewDisposeScope();
        var path = dir.File("exact.safetensors");
        SafetensorsWriter.Save(path, new Dictionary<string, Tensor>
        {
            ["b"] = torch.tensor(new short[] { 1, -1, 256 }),
            ["a"] = torch.tensor(new[] { 1.5f, -2f }),
        });
        const string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," +
                              "\"b\":{\"dtype\":\"I16\",\"shape\":[3],\"data_offsets\":[8,14]}}";
        Assert.Equal(TempDir.Build(header, Data), File.ReadAllBytes(path));
    }

    [Fact]
    public void Empty_file_of_tensors_is_valid()
    {
        var path = dir.File("none.safetensors");
        SafetensorsWriter.Save(path, new Dictionary<string, Tensor>());
        Assert.Equal(TempDir.Build("{}", []), File.ReadAllBytes(path));
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(0, file.Count);
    }

    private static void AssertEntry(JsonElement e, string dtype, long[] shape, long[] offsets)
    {
        Assert.Equal(dtype, e.GetProperty("dtype").GetString());
        Assert.Equal(shape, e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray());
        Assert.Equal(offsets, e.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray());
    }
}
