using System.Buffers.Binary;
using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests;

/// <summary>Corrupt and truncated files: every problem is found at Open and named with file and tensor.</summary>
public sealed class ErrorTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private SafetensorsException OpenFails(string path, params string[] expected)
    {
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Contains(Path.GetFileName(path), e.Message);
        Assert.Equal(path, e.FilePath);
        foreach (var s in expected) Assert.Contains(s, e.Message);
        return e;
    }

    private SafetensorsException HeaderFails(string header, byte[] data, string tensor, params string[] expected)
    {
        var path = dir.WriteSafetensors("bad.safetensors", header, data);
        var e = OpenFails(path, [$"'{tensor}'", .. expected]);
        Assert.Equal(tensor, e.TensorName);
        return e;
    }

    private static string Entry(string name, string dtype, string shape, string offsets) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":{offsets}}}";

    [Fact]
    public void File_shorter_than_8_bytes()
    {
        OpenFails(dir.Write("short.safetensors", [1, 0, 0, 0, 0]), "5 bytes", "too short");
        OpenFails(dir.Write("empty.safetensors", []), "0 bytes", "too short");
    }

    [Fact]
    public void Header_length_larger_than_the_file()
    {
        var bytes = TempDir.Build("{}", new byte[8]);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        OpenFails(dir.Write("long.safetensors", bytes), "header length 1000", "larger than the file");
    }

    [Fact]
    public void Absurd_header_length()
    {
        var bytes = TempDir.Build("{}", new byte[8]);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1UL << 40);
        OpenFails(dir.Write("absurd.safetensors", bytes), "absurd");
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        OpenFails(dir.Write("absurd2.safetensors", bytes), "absurd");
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F32\",")]
    [InlineData("not json")]
    [InlineData("")]
    public void Invalid_json(string header) =>
        OpenFails(dir.WriteSafetensors("json.safetensors", header, [], pad: header.Length > 0), "not valid JSON");

    [Fact]
    public void Header_that_is_not_an_object() =>
        OpenFails(dir.WriteSafetensors("array.safetensors", "[1,2]", []), "must be a JSON object");

    [Theory]
    [InlineData("dtype", "{\"shape\":[1],\"data_offsets\":[0,4]}")]
    [InlineData("shape", "{\"dtype\":\"F32\",\"data_offsets\":[0,4]}")]
    [InlineData("data_offsets", "{\"dtype\":\"F32\",\"shape\":[1]}")]
    public void Entry_missing_a_field(string field, string entry) =>
        HeaderFails($"{{\"ok\":{{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[4,5]}},\"up.weight\":{entry}}}", new byte[5],
            "up.weight", $"has no '{field}'");

    [Theory]
    [InlineData("F8_E4M3")]
    [InlineData("U16")]
    [InlineData("f32")]
    public void Unsupported_dtype(string dtype) =>
        HeaderFails("{" + Entry("mid.proj", dtype, "[2]", "[0,2]") + "}", new byte[2], "mid.proj", "unsupported dtype", $"'{dtype}'");

    [Fact]
    public void Negative_dimension() =>
        HeaderFails("{" + Entry("conv.bias", "F32", "[2,-3]", "[0,0]") + "}", [], "conv.bias", "negative dimension -3");

    [Fact]
    public void Non_integer_dimension() =>
        HeaderFails("{" + Entry("conv.bias", "F32", "[1.5]", "[0,4]") + "}", new byte[4], "conv.bias", "not an integer");

    [Fact]
    public void Offsets_out_of_order() =>
        HeaderFails("{" + Entry("k.weight", "F32", "[1]", "[8,4]") + "}", new byte[8], "k.weight", "out of order", "begin 8 > end 4");

    [Fact]
    public void Wrong_number_of_offsets() =>
        HeaderFails("{" + Entry("k.weight", "F32", "[1]", "[0,4,8]") + "}", new byte[8], "k.weight", "needs 2 data_offsets");

    [Fact]
    public void Offsets_beyond_the_data_buffer() =>
        HeaderFails("{" + Entry("v.weight", "F32", "[4]", "[4,20]") + "}", new byte[16], "v.weight", "beyond the data buffer", "16 bytes");

    [Fact]
    public void Byte_size_does_not_match_shape_and_dtype()
    {
        var e = HeaderFails("{" + Entry("down.weight", "F32", "[4,4]", "[0,60]") + "}", new byte[64], "down.weight");
        Assert.EndsWith("bad.safetensors: tensor 'down.weight' needs 64 bytes (shape [4, 4], F32) but data_offsets span 60", e.Message);
    }

    [Fact]
    public void Overlapping_tensors()
    {
        var header = "{" + Entry("a", "F32", "[4]", "[0,16]") + "," + Entry("b", "F32", "[4]", "[8,24]") + "}";
        HeaderFails(header, new byte[24], "b", "overlaps tensor 'a'");
        // an empty tensor inside another's bytes takes no room: fine
        var ok = "{" + Entry("a", "F32", "[4]", "[0,16]") + "," + Entry("z", "F32", "[0]", "[8,8]") + "}";
        using var file = SafetensorsFile.Open(dir.WriteSafetensors("ok.safetensors", ok, new byte[16]));
        Assert.Equal(2, file.Count);
    }

    [Fact]
    public void Duplicate_names() =>
        HeaderFails("{" + Entry("a", "U8", "[1]", "[0,1]") + "," + Entry("a", "U8", "[1]", "[1,2]") + "}", new byte[2], "a", "twice");

    [Fact]
    public void Metadata_values_must_be_strings() =>
        OpenFails(dir.WriteSafetensors("meta.safetensors", "{\"__metadata__\":{\"n\":1}}", []), "__metadata__", "'n'", "must be a string");

    [Fact]
    public void Truncated_file_is_found_at_open()
    {
        var path = dir.File("cut.safetensors");
        using (torch.NewDisposeScope())
            SafetensorsWriter.Save(path, new Dictionary<string, Tensor> { ["first"] = torch.ones(4), ["last.weight"] = torch.ones(8) });
        using (var whole = SafetensorsFile.Open(path)) Assert.Equal(2, whole.Count);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^3]);
        var e = OpenFails(path, "'last.weight'", "beyond the data buffer", "truncated");
        Assert.Equal("last.weight", e.TensorName);
    }

    [Fact]
    public void Missing_tensor_name_on_read()
    {
        var path = dir.WriteSafetensors("one.safetensors", "{" + Entry("present", "U8", "[1]", "[0,1]") + "}", [7]);
        using var file = SafetensorsFile.Open(path);
        var e = Assert.Throws<KeyNotFoundException>(() => file.Read("absent.weight"));
        Assert.Contains("one.safetensors", e.Message);
        Assert.Contains("'absent.weight'", e.Message);
        Assert.Throws<KeyNotFoundException>(() => file.Entry("absent.weight"));
    }

    [Fact]
    public void Read_after_dispose_fails()
    {
        var path = dir.WriteSafetensors("one.safetensors", "{" + Entry("present", "U8", "[1]", "[0,1]") + "}", [7]);
        var file = SafetensorsFile.Open(path);
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.Read("present"));
    }
}
