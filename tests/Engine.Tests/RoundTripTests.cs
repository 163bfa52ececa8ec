using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests;

public sealed class RoundTripTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    /// <summary>A tensor of each supported dtype with edge values, built from managed data.</summary>
    public static TheoryData<string> DtypeNames => new() { "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL" };

    private static Tensor Sample(string dtype) => dtype switch
    {
        "F64" => torch.tensor(new[] { 0.0, -1.5, Math.PI, double.MaxValue, double.Epsilon, -0.0 }, 2, 3),
        "F32" => torch.tensor(new[] { 0f, -1.5f, MathF.PI, float.MaxValue, float.Epsilon, 1e-30f }, 2, 3),
        "F16" => torch.tensor(new[] { (Half)0, (Half)(-1.5), (Half)3.140625, Half.MaxValue, Half.Epsilon, (Half)0.099975586 }, 2, 3),
        // from float data: these values are exact in bf16
        "BF16" => torch.tensor(new[] { 0f, -1.5f, 3.140625f, 1024f, 0.15625f, -65536f }, 2, 3).to(ScalarType.BFloat16),
        "I64" => torch.tensor(new[] { 0L, -1, long.MaxValue, long.MinValue, 42, 1L << 40 }, 2, 3),
        "I32" => torch.tensor(new[] { 0, -1, int.MaxValue, int.MinValue, 42, 1 << 20 }, 2, 3),
        "I16" => torch.tensor(new short[] { 0, -1, short.MaxValue, short.MinValue, 42, 256 }, 2, 3),
        "I8" => torch.tensor(new sbyte[] { 0, -1, sbyte.MaxValue, sbyte.MinValue, 42, 7 }, 2, 3),
        "U8" => torch.tensor(new byte[] { 0, 1, 255, 128, 42, 7 }, 2, 3),
        "BOOL" => torch.tensor(new[] { true, false, false, true, true, false }, 2, 3),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    private Dictionary<string, Tensor> SaveAndLoad(Dictionary<string, Tensor> tensors, Dictionary<string, string>? metadata = null)
    {
        var path = dir.File("t.safetensors");
        SafetensorsWriter.Save(path, tensors, metadata);
        using var file = SafetensorsFile.Open(path);
        return file.ReadAll();
    }

    [Theory]
    [MemberData(nameof(DtypeNames))]
    public void Every_dtype_round_trips_exactly(string dtype)
    {
        using var scope = torch.NewDisposeScope();
        var original = Sample(dtype);
        var back = SaveAndLoad(new() { ["x"] = original })["x"];
        Assert.True(SafetensorsDtype.TryParse(dtype, out var expectedType));
        Assert.Equal(expectedType, original.dtype);
        Assert.Equal(expectedType, back.dtype);
        Assert.Equal(new long[] { 2, 3 }, back.shape);
        Assert.Equal(original.bytes.ToArray(), back.bytes.ToArray());
    }

    [Fact]
    public void Half_precision_values_come_back_from_float_data()
    {
        using var scope = torch.NewDisposeScope();
        var values = new[] { 0f, -1.5f, 3.140625f, 1024f, 0.15625f, -65280f }; // exact in both bf16 and f16
        var back = SaveAndLoad(new()
        {
            ["bf"] = torch.tensor(values).to(ScalarType.BFloat16),
            ["hf"] = torch.tensor(values).to(ScalarType.Float16),
        });
        Assert.Equal(values, back["bf"].ToArray<float>());
        Assert.Equal(values, back["hf"].ToArray<float>());
        Assert.Equal(ScalarType.BFloat16, back["bf"].dtype);
        Assert.Equal(ScalarType.Float16, back["hf"].dtype);
    }

    [Fact]
    public void Values_compare_exactly_per_type()
    {
        using var scope = torch.NewDisposeScope();
        var back = SaveAndLoad(new()
        {
            ["b"] = torch.tensor(new[] { true, false, true }),
            ["l"] = torch.tensor(new[] { long.MinValue, 0, long.MaxValue }),
            ["d"] = torch.tensor(new[] { Math.E, -0.1, 1e300 }),
            ["nan"] = torch.tensor(new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity }),
        });
        Assert.Equal(new[] { true, false, true }, back["b"].ToArray<bool>());
        Assert.Equal(new[] { long.MinValue, 0, long.MaxValue }, back["l"].ToArray<long>());
        Assert.Equal(new[] { Math.E, -0.1, 1e300 }, back["d"].ToArray<double>());
        Assert.Equal(new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity }, back["nan"].ToArray<float>());
    }

    [Fact]
    public void Empty_tensors_and_scalars_round_trip()
    {
        using var scope = torch.NewDisposeScope();
        var back = SaveAndLoad(new()
        {
            ["empty"] = torch.zeros([0], ScalarType.Float32),
            ["empty3d"] = torch.zeros([3, 0, 2], ScalarType.BFloat16),
            ["scalar"] = torch.tensor(3.5),
            ["iscalar"] = torch.full([], 7, ScalarType.Int64),
            ["after"] = torch.tensor(new[] { 1, 2, 3 }),
        });
        Assert.Equal(new long[] { 0 }, back["empty"].shape);
        Assert.Equal(new long[] { 3, 0, 2 }, back["empty3d"].shape);
        Assert.Equal(ScalarType.BFloat16, back["empty3d"].dtype);
        Assert.Equal(0, back["empty3d"].numel());
        Assert.Empty(back["scalar"].shape);
        Assert.Equal(3.5, back["scalar"].ItemDouble());
        Assert.Empty(back["iscalar"].shape);
        Assert.Equal(7L, back["iscalar"].item<long>());
        Assert.Equal(new[] { 1, 2, 3 }, back["after"].ToArray<int>());
    }

    [Fact]
    public void Metadata_round_trips()
    {
        using var scope = torch.NewDisposeScope();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["empty"] = "", ["unicode"] = "größe ✓ \"quoted\"\n" };
        var path = dir.File("m.safetensors");
        SafetensorsWriter.Save(path, new Dictionary<string, Tensor> { ["x"] = torch.ones(2) }, metadata);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(metadata.OrderBy(p => p.Key), file.Metadata.OrderBy(p => p.Key));

        var plain = dir.File("plain.safetensors");
        SafetensorsWriter.Save(plain, new Dictionary<string, Tensor> { ["x"] = torch.ones(2) });
        using var noMeta = SafetensorsFile.Open(plain);
        Assert.Empty(noMeta.Metadata);
    }

    [Fact]
    public void Non_contiguous_tensors_are_saved_in_logical_order()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.arange(12, ScalarType.Float32).reshape(3, 4);
        var transposed = t.transpose(0, 1);
        Assert.False(transposed.is_contiguous());
        var back = SaveAndLoad(new() { ["t"] = transposed })["t"];
        Assert.Equal(new long[] { 4, 3 }, back.shape);
        Assert.Equal(transposed.contiguous().ToArray<float>(), back.ToArray<float>());
        Assert.Equal(new[] { 0f, 4, 8, 1, 5, 9 }, back.ToArray<float>()[..6]);
    }

    [Theory]
    [InlineData(12)]
    [InlineData(64)]
    public void Large_tensors_move_in_chunks(int chunkBytes)
    {
        using var scope = torch.NewDisposeScope();
        var f64 = torch.randn([5, 7], dtype: ScalarType.Float64);
        var f32 = torch.randn([9, 11], dtype: ScalarType.Float32);
        var previous = TensorBytes.ChunkBytes;
        TensorBytes.ChunkBytes = chunkBytes;
        Dictionary<string, Tensor> back;
        try
        {
            back = SaveAndLoad(new() { ["a"] = f64, ["b"] = f32 });
        }
        finally
        {
            TensorBytes.ChunkBytes = previous;
        }
        Assert.Equal(f64.bytes.ToArray(), back["a"].bytes.ToArray());
        Assert.Equal(f32.bytes.ToArray(), back["b"].bytes.ToArray());
    }

    [Fact]
    public void Read_tensors_are_contiguous_cpu_tensors_of_the_header()
    {
        using var scope = torch.NewDisposeScope();
        var path = dir.File("e.safetensors");
        SafetensorsWriter.Save(path, new Dictionary<string, Tensor> { ["w"] = torch.ones([2, 3], ScalarType.Float16) });
        using var file = SafetensorsFile.Open(path);
        var entry = file.Entries["w"];
        Assert.Equal("F16", entry.DtypeName);
        Assert.Equal(12, entry.ByteLength);
        Assert.Equal(6, entry.ElementCount);
        using var t = file.Read("w");
        Assert.True(t.is_contiguous());
        Assert.Equal(DeviceType.CPU, t.device_type);
        Assert.Equal(entry.Shape, t.shape);
        Assert.True(file.Contains("w"));
        Assert.False(file.Contains("W"));
        Assert.Equal(["w"], file.Names);
    }
}
