using TLoRA.Torch.Interop;

namespace TLoRA.Torch;

/// <summary>Entry point with TorchSharp's names: factories, joins, grad mode, threads, devices.</summary>
public static partial class torch
{
    public const ScalarType float32 = ScalarType.Float32;
    public const ScalarType float16 = ScalarType.Float16;
    public const ScalarType bfloat16 = ScalarType.BFloat16;
    public const ScalarType float64 = ScalarType.Float64;
    public const ScalarType int64 = ScalarType.Int64;
    public const ScalarType int32 = ScalarType.Int32;
    public const ScalarType uint8 = ScalarType.Byte;
    public const ScalarType @bool = ScalarType.Bool;

    static torch()
    {
        // libtorch picks one thread per physical core, which is one on small VMs; use every core unless told.
        var env = Environment.GetEnvironmentVariable("TLORA_NUM_THREADS");
        set_num_threads(int.TryParse(env, out var n) && n > 0 ? n : Environment.ProcessorCount);
        // OpenBLAS keeps its own pool beside libtorch's threads; both at "all cores" oversubscribe them (training steps
        // measured 3x slower). One BLAS thread unless TLORA_BLAS_THREADS (or OpenBLAS's own OPENBLAS_NUM_THREADS) says otherwise.
        var blas = Environment.GetEnvironmentVariable("TLORA_BLAS_THREADS");
        if (int.TryParse(blas, out var b) && b > 0) set_blas_threads(b);
        else if (Environment.GetEnvironmentVariable("OPENBLAS_NUM_THREADS") is null) set_blas_threads(1);
        // Keep large CPU buffers in the heap between ops instead of unmapping them (TLORA_MALLOC_TUNE=0 turns it off).
        if (Environment.GetEnvironmentVariable("TLORA_MALLOC_TUNE") != "0") Native.tt_tune_allocator(64L << 20);
    }

    /// <summary>libtorch's version, e.g. (1, 13, 0).</summary>
    public static Version libtorch_version => new(Native.tt_version_major(), Native.tt_version_minor(), Native.tt_version_patch());

    /// <summary>Whether scaled_dot_product_attention uses libtorch's own kernel (libtorch ≥ 2) or the composed one.</summary>
    public static bool has_native_sdpa => Native.tt_has_native_sdpa() != 0;

    /// <summary>Native tensor handles alive in this process (every op result until disposed).</summary>
    public static long live_tensor_count => Native.tt_live_tensors();

    public static DisposeScope NewDisposeScope() => new();

    public static void set_num_threads(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        TorchException.Check(Native.tt_set_num_threads(n));
    }
    public static int get_num_threads() => Native.tt_get_num_threads();

    /// <summary>Sizes OpenBLAS's own thread pool (CPU matmuls); false when libtorch's BLAS is not OpenBLAS.</summary>
    public static bool set_blas_threads(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        return Native.tt_set_blas_threads(n) == 1;
    }
    public static void manual_seed(ulong seed) => TorchException.Check(Native.tt_manual_seed(seed));

    // ---- grad mode (per thread) ----
    public static bool is_grad_enabled() => Native.tt_grad_enabled() != 0;
    /// <summary>Disables gradient recording on this thread until disposed.</summary>
    public static IDisposable no_grad() => new GradMode(false);
    public static IDisposable enable_grad() => new GradMode(true);

    private sealed class GradMode : IDisposable
    {
        private readonly bool previous;
        private bool disposed;
        public GradMode(bool on)
        {
            previous = Native.tt_grad_enabled() != 0;
            Native.tt_set_grad_enabled(on ? 1 : 0);
        }
        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            Native.tt_set_grad_enabled(previous ? 1 : 0);
        }
    }

    public static class cuda
    {
        public static bool is_available() => Native.tt_cuda_is_available() != 0;
        public static int device_count() => Native.tt_cuda_device_count();
        public static void synchronize(int device = 0) => TorchException.Check(Native.tt_cuda_synchronize(device));
    }

    // ---- factories ----
    private static unsafe Tensor Make(long[] shape, ScalarType dtype, Device? device,
        delegate*<long*, int, int, int, int, IntPtr> f)
    {
        var d = device ?? Device.CPU;
        fixed (long* p = shape) return Tensor.Wrap(f(p, shape.Length, (int)dtype, (int)d.type, d.index));
    }

    public static unsafe Tensor empty(long[] shape, ScalarType dtype = float32, Device? device = null) => Make(shape, dtype, device, &Native.tt_empty);
    public static unsafe Tensor zeros(long[] shape, ScalarType dtype = float32, Device? device = null) => Make(shape, dtype, device, &Native.tt_zeros);
    public static unsafe Tensor ones(long[] shape, ScalarType dtype = float32, Device? device = null) => Make(shape, dtype, device, &Native.tt_ones);
    public static Tensor zeros(params long[] shape) => zeros(shape, float32);
    public static Tensor ones(params long[] shape) => ones(shape, float32);
    public static Tensor zeros_like(Tensor t) => Tensor.Wrap(Native.tt_zeros_like(t));
    public static Tensor ones_like(Tensor t) => Tensor.Wrap(Native.tt_ones_like(t));

    public static unsafe Tensor full(long[] shape, double value, ScalarType dtype = float32, Device? device = null)
    {
        var d = device ?? Device.CPU;
        fixed (long* p = shape)
            return Tensor.Wrap(Native.tt_full(p, shape.Length, value, dtype.IsIntegral() ? 1 : 0, (int)dtype, (int)d.type, d.index));
    }

    public static Tensor arange(double start, double end, double step = 1, ScalarType dtype = int64, Device? device = null)
    {
        var d = device ?? Device.CPU;
        return Tensor.Wrap(Native.tt_arange(start, end, step, (int)dtype, (int)d.type, d.index));
    }
    public static Tensor arange(long end, ScalarType dtype = int64, Device? device = null) => arange(0, end, 1, dtype, device);

    public static Tensor linspace(double start, double end, long steps, ScalarType dtype = float32, Device? device = null)
    {
        var d = device ?? Device.CPU;
        return Tensor.Wrap(Native.tt_linspace(start, end, steps, (int)dtype, (int)d.type, d.index));
    }

    public static Tensor eye(long n, ScalarType dtype = float32, Device? device = null)
    {
        var d = device ?? Device.CPU;
        return Tensor.Wrap(Native.tt_eye(n, (int)dtype, (int)d.type, d.index));
    }

    /// <summary>A CPU tensor holding a copy of <paramref name="data"/>, with the given shape (1-D by default).</summary>
    public static unsafe Tensor tensor<T>(ReadOnlySpan<T> data, long[]? shape = null) where T : unmanaged
    {
        shape ??= [data.Length];
        fixed (T* d = data)
        fixed (long* s = shape)
            return Tensor.Wrap(Native.tt_from_bytes(d, (long)data.Length * sizeof(T), s, shape.Length, (int)Tensor.ScalarTypeOf<T>()));
    }
    public static Tensor tensor<T>(T[] data, params long[] shape) where T : unmanaged => tensor<T>(data.AsSpan(), shape.Length == 0 ? null : shape);
    public static Tensor tensor(double value, ScalarType dtype = float32) => full([], value, dtype);

    /// <summary>A CPU tensor from raw little-endian element bytes of any dtype (bf16 and f16 included).</summary>
    public static unsafe Tensor from_bytes(ReadOnlySpan<byte> bytes, long[] shape, ScalarType dtype)
    {
        fixed (byte* d = bytes)
        fixed (long* s = shape)
            return Tensor.Wrap(Native.tt_from_bytes(d, bytes.Length, s, shape.Length, (int)dtype));
    }

    // ---- random ----
    private static unsafe Tensor Draw(long[] shape, Generator? g, ScalarType dtype, Device? device,
        delegate*<long*, int, IntPtr, int, int, int, IntPtr> f)
    {
        var d = device ?? Device.CPU;
        fixed (long* p = shape)
        {
            var h = f(p, shape.Length, g.RawHandle(), (int)dtype, (int)d.type, d.index);
            GC.KeepAlive(g);
            return Tensor.Wrap(h);
        }
    }
    public static unsafe Tensor rand(long[] shape, Generator? generator = null, ScalarType dtype = float32, Device? device = null) =>
        Draw(shape, generator, dtype, device, &Native.tt_rand);
    public static unsafe Tensor randn(long[] shape, Generator? generator = null, ScalarType dtype = float32, Device? device = null) =>
        Draw(shape, generator, dtype, device, &Native.tt_randn);
    public static unsafe Tensor randint(long low, long high, long[] shape, Generator? generator = null, ScalarType dtype = int64, Device? device = null)
    {
        var d = device ?? Device.CPU;
        fixed (long* p = shape)
        {
            var h = Native.tt_randint(low, high, p, shape.Length, generator.RawHandle(), (int)dtype, (int)d.type, d.index);
            GC.KeepAlive(generator);
            return Tensor.Wrap(h);
        }
    }

    // ---- joins and selection ----
    public static unsafe Tensor cat(IReadOnlyList<Tensor> tensors, long dim = 0)
    {
        var hs = Handles(tensors);
        fixed (IntPtr* p = hs) { var r = Native.tt_cat(p, hs.Length, dim); GC.KeepAlive(tensors); return Tensor.Wrap(r); }
    }
    public static unsafe Tensor stack(IReadOnlyList<Tensor> tensors, long dim = 0)
    {
        var hs = Handles(tensors);
        fixed (IntPtr* p = hs) { var r = Native.tt_stack(p, hs.Length, dim); GC.KeepAlive(tensors); return Tensor.Wrap(r); }
    }
    internal static IntPtr[] Handles(IReadOnlyList<Tensor> tensors)
    {
        var hs = new IntPtr[tensors.Count];
        for (var i = 0; i < hs.Length; i++) hs[i] = tensors[i].RawHandle();
        return hs;
    }

    public static Tensor where(Tensor condition, Tensor a, Tensor b) => Tensor.Wrap(Native.tt_where(condition, a, b));
    public static Tensor matmul(Tensor a, Tensor b) => a.matmul(b);
    public static Tensor bmm(Tensor a, Tensor b) => a.bmm(b);
    public static Tensor exp(Tensor a) => a.exp();
    public static Tensor sqrt(Tensor a) => a.sqrt();
    public static Tensor cos(Tensor a) => a.cos();
    public static Tensor sin(Tensor a) => a.sin();

    public static bool allclose(Tensor a, Tensor b, double rtol = 1e-5, double atol = 1e-8) =>
        TorchException.CheckValue(Native.tt_allclose(a, b, rtol, atol, out var r), r) != 0;

    public static class linalg
    {
        /// <summary>A = U·diag(S)·Vh, as torch.linalg.svd.</summary>
        public static unsafe (Tensor U, Tensor S, Tensor Vh) svd(Tensor a, bool full_matrices = true)
        {
            var h = stackalloc IntPtr[3];
            TorchException.Check(Native.tt_svd(a, full_matrices ? 1 : 0, h));
            return (new Tensor(h[0]), new Tensor(h[1]), new Tensor(h[2]));
        }

        public static Tensor vector_norm(Tensor a, double ord = 2) => Tensor.Wrap(Native.tt_vector_norm(a, ord));
    }
}
