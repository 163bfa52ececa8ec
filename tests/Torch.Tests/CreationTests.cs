namespace TLoRA.Torch.Tests;

public class CreationTests
{
    [Fact]
    public void Factories_fill_shape_and_values()
    {
        using var scope = torch.NewDisposeScope();
        var z = torch.zeros(2, 3);
        Check.Shape(z, 2, 3);
        Assert.Equal(ScalarType.Float32, z.dtype);
        Assert.All(z.ToArray<float>(), v => Assert.Equal(0f, v));
        Assert.All(torch.ones([4], ScalarType.Int64).ToArray<long>(), v => Assert.Equal(1L, v));
        Assert.All(torch.full([2, 2], 7.5).ToArray<float>(), v => Assert.Equal(7.5f, v));
        Assert.Equal(new long[] { 3, 3, 3 }, torch.full([3], 3, ScalarType.Int64).ToArray<long>());
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, torch.arange(5).ToArray<long>());
        Check.Close([1, 1.5, 2, 2.5], torch.arange(1, 3, 0.5, ScalarType.Float32));
        Check.Close([0, 0.25, 0.5, 0.75, 1], torch.linspace(0, 1, 5));
        Check.Close([1, 0, 0, 1], torch.eye(2));
        Assert.Equal(6, torch.empty([2, 3]).numel());
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.Int32)]
    [InlineData(ScalarType.Byte)]
    [InlineData(ScalarType.Bool)]
    public void Every_dtype_converts_and_reports_its_size(ScalarType type)
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.tensor(new float[] { 0, 1, 2, 3 }).to(type);
        Assert.Equal(type, t.dtype);
        Assert.Equal(type.ElementSize(), t.element_size());
        var expected = type == ScalarType.Bool ? new double[] { 0, 1, 1, 1 } : [0, 1, 2, 3];
        Check.Close(expected, t);
    }

    [Fact]
    public void Raw_little_endian_bytes_make_bf16_and_f16_tensors()
    {
        using var scope = torch.NewDisposeScope();
        // bf16 1.0 = 0x3F80, -2.0 = 0xC000; f16 1.0 = 0x3C00, 0.5 = 0x3800 (little-endian byte order).
        var bf = torch.from_bytes([0x80, 0x3F, 0x00, 0xC0], [2], ScalarType.BFloat16);
        Check.Close([1, -2], bf);
        var h = torch.from_bytes([0x00, 0x3C, 0x00, 0x38], [2], ScalarType.Float16);
        Check.Close([1, 0.5], h);
        Assert.Equal(new byte[] { 0x00, 0x3C, 0x00, 0x38 }, h.ToBytes());
        var ex = Assert.Throws<TorchException>(() => torch.from_bytes([1, 2, 3], [2], ScalarType.Float16));
        Assert.Contains("needs 4 bytes", ex.Message);
    }

    [Fact]
    public void Arrays_and_spans_round_trip_with_shape_and_strides()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.tensor(new long[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        Check.Shape(t, 2, 3);
        Assert.Equal(new long[] { 3, 1 }, t.stride());
        Assert.True(t.is_contiguous());
        var tt = t.transpose(0, 1);
        Assert.Equal(new long[] { 1, 3 }, tt.stride());
        Assert.False(tt.is_contiguous());
        Assert.Equal(new long[] { 1, 4, 2, 5, 3, 6 }, tt.ToArray<long>());
        Span<double> buf = stackalloc double[6];
        t.CopyTo(buf);
        Assert.Equal(6.0, buf[5]);
        Assert.Equal(5L, t.select(0, 1).select(0, 1).item<long>());
        Assert.Equal(2.5, torch.tensor(2.5).item());
        Assert.Throws<TorchException>(() => t.item());
    }

    [Fact]
    public void Device_queries_and_parsing()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(Device.CPU, torch.zeros(1).device);
        Assert.Equal(Device.CUDA(1), Device.Parse("cuda:1"));
        Assert.Equal("cuda:0", Device.Parse("cuda").ToString());
        Assert.Throws<FormatException>(() => Device.Parse("tpu"));
        Assert.True(torch.cuda.device_count() >= 0);
        if (!torch.cuda.is_available())
        {
            var ex = Assert.Throws<TorchException>(() => torch.zeros(1).to(Device.CUDA()));
            Assert.Contains("CUDA", ex.Message, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void Library_facts_are_reported()
    {
        Assert.True(torch.libtorch_version >= new Version(1, 13));
        Assert.Equal(torch.libtorch_version.Major >= 2, torch.has_native_sdpa);
        var before = torch.get_num_threads();
        torch.set_num_threads(1);
        Assert.Equal(1, torch.get_num_threads());
        torch.set_num_threads(before);
        Assert.Equal(before, torch.get_num_threads());
    }
}

public class BlasThreadTests
{
    [Fact]
    public void OpenBLAS_threads_are_settable_and_matmul_stays_correct()
    {
        Assert.True(torch.set_blas_threads(2), "libtorch's BLAS here should be Debian's OpenBLAS (libopenblas0-pthread)");
        using var scope = torch.NewDisposeScope();
        var a = torch.randn([64, 64], new Generator(1), ScalarType.Float64);
        var expected = a.matmul(a);
        torch.set_blas_threads(1);
        Assert.True(torch.allclose(expected, a.matmul(a)));
        Assert.Throws<ArgumentOutOfRangeException>(() => torch.set_blas_threads(0));
    }
}
