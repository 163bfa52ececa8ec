using System.Runtime.InteropServices;

namespace TLoRA.Torch.Interop;

/// <summary>Declarations of the C ABI shim (native/src/tt_error.cpp, tt_tensor.cpp). Tensor arguments that may be
/// absent are passed as raw handles (IntPtr.Zero for none); required ones as the SafeHandle itself.</summary>
internal static unsafe partial class Native
{
    internal const string Lib = "tlora_torch";

    [LibraryImport(Lib)] internal static partial IntPtr tt_last_error();
    [LibraryImport(Lib)] internal static partial void tt_clear_error();
    [LibraryImport(Lib)] internal static partial long tt_live_tensors();
    [LibraryImport(Lib)] internal static partial int tt_version_major();
    [LibraryImport(Lib)] internal static partial int tt_version_minor();
    [LibraryImport(Lib)] internal static partial int tt_version_patch();
    [LibraryImport(Lib)] internal static partial int tt_has_native_sdpa();
    [LibraryImport(Lib)] internal static partial int tt_cuda_is_available();
    [LibraryImport(Lib)] internal static partial int tt_cuda_device_count();
    [LibraryImport(Lib)] internal static partial int tt_cuda_synchronize(int device);
    [LibraryImport(Lib)] internal static partial int tt_set_num_threads(int n);
    [LibraryImport(Lib)] internal static partial int tt_get_num_threads();
    [LibraryImport(Lib)] internal static partial int tt_tune_allocator(long bytes);
    [LibraryImport(Lib)] internal static partial int tt_set_blas_threads(int n);

    [LibraryImport(Lib)] internal static partial void tt_free(IntPtr t);
    [LibraryImport(Lib)] internal static partial IntPtr tt_empty(long* shape, int ndim, int dtype, int dev, int idx);
    [LibraryImport(Lib)] internal static partial IntPtr tt_zeros(long* shape, int ndim, int dtype, int dev, int idx);
    [LibraryImport(Lib)] internal static partial IntPtr tt_ones(long* shape, int ndim, int dtype, int dev, int idx);
    [LibraryImport(Lib)] internal static partial IntPtr tt_full(long* shape, int ndim, double value, int isInt, int dtype, int dev, int idx);
    [LibraryImport(Lib)] internal static partial IntPtr tt_arange(double start, double end, double step, int dtype, int dev, int idx);
    [LibraryImport(Lib)] internal static partial IntPtr tt_linspace(double start, double end, long steps, int dtype, int dev, int idx);
    [LibraryImport(Lib)] internal static partial IntPtr tt_eye(long n, int dtype, int dev, int idx);
    [LibraryImport(Lib)] internal static partial IntPtr tt_zeros_like(Tensor t);
    [LibraryImport(Lib)] internal static partial IntPtr tt_ones_like(Tensor t);
    [LibraryImport(Lib)] internal static partial IntPtr tt_from_bytes(void* data, long nbytes, long* shape, int ndim, int dtype);
    [LibraryImport(Lib)] internal static partial int tt_copy_to_bytes(Tensor t, void* dst, long nbytes);
    [LibraryImport(Lib)] internal static partial IntPtr tt_data_ptr(Tensor t);
    [LibraryImport(Lib)] internal static partial int tt_item_double(Tensor t, out double value);
    [LibraryImport(Lib)] internal static partial int tt_item_int64(Tensor t, out long value);

    [LibraryImport(Lib)] internal static partial int tt_dim(Tensor t);
    [LibraryImport(Lib)] internal static partial int tt_shape(Tensor t, long* dst);
    [LibraryImport(Lib)] internal static partial int tt_strides(Tensor t, long* dst);
    [LibraryImport(Lib)] internal static partial long tt_numel(Tensor t);
    [LibraryImport(Lib)] internal static partial int tt_dtype(Tensor t);
    [LibraryImport(Lib)] internal static partial int tt_element_size(Tensor t);
    [LibraryImport(Lib)] internal static partial int tt_device_type(Tensor t);
    [LibraryImport(Lib)] internal static partial int tt_device_index(Tensor t);
    [LibraryImport(Lib)] internal static partial int tt_is_contiguous(Tensor t);

    [LibraryImport(Lib)] internal static partial IntPtr tt_to(Tensor t, int dtype, int dev, int idx, int copy);
    [LibraryImport(Lib)] internal static partial IntPtr tt_clone(Tensor t);
    [LibraryImport(Lib)] internal static partial IntPtr tt_detach(Tensor t);
    [LibraryImport(Lib)] internal static partial IntPtr tt_contiguous(Tensor t);
    [LibraryImport(Lib)] internal static partial IntPtr tt_alias(Tensor t);
    [LibraryImport(Lib)] internal static partial int tt_copy_(Tensor dst, Tensor src);
    [LibraryImport(Lib)] internal static partial int tt_fill_(Tensor t, double v, int isInt);
    [LibraryImport(Lib)] internal static partial int tt_zero_(Tensor t);

    [LibraryImport(Lib)] internal static partial int tt_requires_grad(Tensor t);
    [LibraryImport(Lib)] internal static partial int tt_set_requires_grad(Tensor t, int on);
    [LibraryImport(Lib)] internal static partial int tt_is_leaf(Tensor t);
    [LibraryImport(Lib)] internal static partial int tt_backward(Tensor t, IntPtr grad, int retainGraph);
    [LibraryImport(Lib)] internal static partial IntPtr tt_grad(Tensor t);
    [LibraryImport(Lib)] internal static partial int tt_set_grad(Tensor t, IntPtr grad);
    [LibraryImport(Lib)] internal static partial int tt_grad_enabled();
    [LibraryImport(Lib)] internal static partial void tt_set_grad_enabled(int on);

    [LibraryImport(Lib)] internal static partial IntPtr tt_generator_new(ulong seed);
    [LibraryImport(Lib)] internal static partial void tt_generator_free(IntPtr g);
    [LibraryImport(Lib)] internal static partial int tt_generator_seed(Generator g, ulong seed);
    [LibraryImport(Lib)] internal static partial int tt_manual_seed(ulong seed);
    [LibraryImport(Lib)] internal static partial IntPtr tt_rand(long* shape, int n, IntPtr g, int dtype, int dev, int idx);
    [LibraryImport(Lib)] internal static partial IntPtr tt_randn(long* shape, int n, IntPtr g, int dtype, int dev, int idx);
    [LibraryImport(Lib)] internal static partial IntPtr tt_randint(long low, long high, long* shape, int n, IntPtr g, int dtype, int dev, int idx);
    [LibraryImport(Lib)] internal static partial int tt_normal_(Tensor t, double mean, double std, IntPtr g);
    [LibraryImport(Lib)] internal static partial int tt_uniform_(Tensor t, double from, double to, IntPtr g);

    [LibraryImport(Lib)] internal static partial int tt_svd(Tensor a, int fullMatrices, IntPtr* out3);
    [LibraryImport(Lib)] internal static partial IntPtr tt_vector_norm(Tensor a, double ord);
    [LibraryImport(Lib)] internal static partial int tt_adamw_step(Tensor p, Tensor g, Tensor m, Tensor v, long step,
        double lr, double beta1, double beta2, double eps, double weightDecay);
    [LibraryImport(Lib)] internal static partial int tt_clip_grad_norm(IntPtr* parameters, int n, double maxNorm, double normType, out double total);
}
