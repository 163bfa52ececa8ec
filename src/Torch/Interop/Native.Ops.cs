using System.Runtime.InteropServices;

namespace TLoRA.Torch.Interop;

/// <summary>Declarations of the shim's operators (native/src/tt_math.cpp, tt_shape.cpp, tt_nn.cpp).</summary>
internal static unsafe partial class Native
{
    [LibraryImport(Lib)] internal static partial IntPtr tt_add(Tensor a, Tensor b, double alpha);
    [LibraryImport(Lib)] internal static partial IntPtr tt_sub(Tensor a, Tensor b, double alpha);
    [LibraryImport(Lib)] internal static partial IntPtr tt_mul(Tensor a, Tensor b);
    [LibraryImport(Lib)] internal static partial IntPtr tt_div(Tensor a, Tensor b);
    [LibraryImport(Lib)] internal static partial IntPtr tt_pow(Tensor a, Tensor b);
    [LibraryImport(Lib)] internal static partial IntPtr tt_maximum(Tensor a, Tensor b);
    [LibraryImport(Lib)] internal static partial IntPtr tt_minimum(Tensor a, Tensor b);
    [LibraryImport(Lib)] internal static partial IntPtr tt_eq(Tensor a, Tensor b);
    [LibraryImport(Lib)] internal static partial IntPtr tt_ne(Tensor a, Tensor b);
    [LibraryImport(Lib)] internal static partial IntPtr tt_lt(Tensor a, Tensor b);
    [LibraryImport(Lib)] internal static partial IntPtr tt_le(Tensor a, Tensor b);
    [LibraryImport(Lib)] internal static partial IntPtr tt_gt(Tensor a, Tensor b);
    [LibraryImport(Lib)] internal static partial IntPtr tt_ge(Tensor a, Tensor b);
    [LibraryImport(Lib)] internal static partial IntPtr tt_logical_and(Tensor a, Tensor b);
    [LibraryImport(Lib)] internal static partial IntPtr tt_logical_or(Tensor a, Tensor b);
    [LibraryImport(Lib)] internal static partial IntPtr tt_matmul(Tensor a, Tensor b);
    [LibraryImport(Lib)] internal static partial IntPtr tt_bmm(Tensor a, Tensor b);

    [LibraryImport(Lib)] internal static partial IntPtr tt_add_scalar(Tensor a, double v, int isInt);
    [LibraryImport(Lib)] internal static partial IntPtr tt_sub_scalar(Tensor a, double v, int isInt);
    [LibraryImport(Lib)] internal static partial IntPtr tt_rsub_scalar(Tensor a, double v, int isInt);
    [LibraryImport(Lib)] internal static partial IntPtr tt_mul_scalar(Tensor a, double v, int isInt);
    [LibraryImport(Lib)] internal static partial IntPtr tt_div_scalar(Tensor a, double v, int isInt);
    [LibraryImport(Lib)] internal static partial IntPtr tt_rdiv_scalar(Tensor a, double v, int isInt);
    [LibraryImport(Lib)] internal static partial IntPtr tt_pow_scalar(Tensor a, double v, int isInt);
    [LibraryImport(Lib)] internal static partial IntPtr tt_rpow_scalar(Tensor a, double v, int isInt);
    [LibraryImport(Lib)] internal static partial IntPtr tt_eq_scalar(Tensor a, double v, int isInt);
    [LibraryImport(Lib)] internal static partial IntPtr tt_ne_scalar(Tensor a, double v, int isInt);
    [LibraryImport(Lib)] internal static partial IntPtr tt_lt_scalar(Tensor a, double v, int isInt);
    [LibraryImport(Lib)] internal static partial IntPtr tt_le_scalar(Tensor a, double v, int isInt);
    [LibraryImport(Lib)] internal static partial IntPtr tt_gt_scalar(Tensor a, double v, int isInt);
    [LibraryImport(Lib)] internal static partial IntPtr tt_ge_scalar(Tensor a, double v, int isInt);

    [LibraryImport(Lib)] internal static partial IntPtr tt_neg(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_abs(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_exp(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_log(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_sqrt(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_rsqrt(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_square(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_reciprocal(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_cos(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_sin(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_tanh(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_sigmoid(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_relu(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_silu(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_floor(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_ceil(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_round(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_sign(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_logical_not(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_isnan(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_isfinite(Tensor a);
    [LibraryImport(Lib)] internal static partial IntPtr tt_gelu(Tensor a, int tanhApprox);
    [LibraryImport(Lib)] internal static partial IntPtr tt_clamp(Tensor a, int hasMin, double min, int hasMax, double max);
    [LibraryImport(Lib)] internal static partial IntPtr tt_where(Tensor cond, Tensor a, Tensor b);
    [LibraryImport(Lib)] internal static partial IntPtr tt_masked_fill(Tensor a, Tensor mask, double v, int isInt);
    [LibraryImport(Lib)] internal static partial int tt_allclose(Tensor a, Tensor b, double rtol, double atol, out int result);

    [LibraryImport(Lib)] internal static partial IntPtr tt_sum(Tensor a, long* dims, int n, int keepdim, int dtype);
    [LibraryImport(Lib)] internal static partial IntPtr tt_mean(Tensor a, long* dims, int n, int keepdim, int dtype);
    [LibraryImport(Lib)] internal static partial IntPtr tt_var(Tensor a, long* dims, int n, int unbiased, int keepdim);
    [LibraryImport(Lib)] internal static partial IntPtr tt_amax(Tensor a, long* dims, int n, int keepdim);
    [LibraryImport(Lib)] internal static partial IntPtr tt_amin(Tensor a, long* dims, int n, int keepdim);
    [LibraryImport(Lib)] internal static partial IntPtr tt_argmax(Tensor a, long dim, int keepdim);
    [LibraryImport(Lib)] internal static partial IntPtr tt_norm(Tensor a, double p, long* dims, int n, int keepdim);
    [LibraryImport(Lib)] internal static partial IntPtr tt_cumsum(Tensor a, long dim);
    [LibraryImport(Lib)] internal static partial int tt_add_(Tensor a, Tensor b, double alpha);
    [LibraryImport(Lib)] internal static partial int tt_mul_(Tensor a, Tensor b);
    [LibraryImport(Lib)] internal static partial int tt_mul_scalar_(Tensor a, double v);
    [LibraryImport(Lib)] internal static partial int tt_add_scalar_(Tensor a, double v);

    [LibraryImport(Lib)] internal static partial IntPtr tt_view(Tensor a, long* shape, int n);
    [LibraryImport(Lib)] internal static partial IntPtr tt_reshape(Tensor a, long* shape, int n);
    [LibraryImport(Lib)] internal static partial IntPtr tt_permute(Tensor a, long* order, int n);
    [LibraryImport(Lib)] internal static partial IntPtr tt_transpose(Tensor a, long d0, long d1);
    [LibraryImport(Lib)] internal static partial IntPtr tt_flatten(Tensor a, long start, long end);
    [LibraryImport(Lib)] internal static partial IntPtr tt_unsqueeze(Tensor a, long dim);
    [LibraryImport(Lib)] internal static partial IntPtr tt_squeeze(Tensor a, long dim, int all);
    [LibraryImport(Lib)] internal static partial IntPtr tt_expand(Tensor a, long* shape, int n);
    [LibraryImport(Lib)] internal static partial IntPtr tt_repeat(Tensor a, long* reps, int n);
    [LibraryImport(Lib)] internal static partial IntPtr tt_repeat_interleave(Tensor a, long repeats, long dim);
    [LibraryImport(Lib)] internal static partial IntPtr tt_cat(IntPtr* ts, int n, long dim);
    [LibraryImport(Lib)] internal static partial IntPtr tt_stack(IntPtr* ts, int n, long dim);
    [LibraryImport(Lib)] internal static partial int tt_chunk(Tensor a, long chunks, long dim, IntPtr* dst, int capacity);
    [LibraryImport(Lib)] internal static partial int tt_split(Tensor a, long size, long dim, IntPtr* dst, int capacity);
    [LibraryImport(Lib)] internal static partial int tt_split_sizes(Tensor a, long* sizes, int n, long dim, IntPtr* dst, int capacity);
    [LibraryImport(Lib)] internal static partial IntPtr tt_slice(Tensor a, long dim, long start, long end, long step);
    [LibraryImport(Lib)] internal static partial IntPtr tt_narrow(Tensor a, long dim, long start, long length);
    [LibraryImport(Lib)] internal static partial IntPtr tt_select(Tensor a, long dim, long index);
    [LibraryImport(Lib)] internal static partial IntPtr tt_index_select(Tensor a, long dim, Tensor index);
    [LibraryImport(Lib)] internal static partial IntPtr tt_gather(Tensor a, long dim, Tensor index);
    [LibraryImport(Lib)] internal static partial IntPtr tt_tril(Tensor a, long diagonal);
    [LibraryImport(Lib)] internal static partial IntPtr tt_triu(Tensor a, long diagonal);
    [LibraryImport(Lib)] internal static partial IntPtr tt_flip(Tensor a, long* dims, int n);

    [LibraryImport(Lib)] internal static partial IntPtr tt_linear(Tensor x, Tensor w, IntPtr b);
    [LibraryImport(Lib)] internal static partial IntPtr tt_conv2d(Tensor x, Tensor w, IntPtr b, long sh, long sw, long ph, long pw,
        long dh, long dw, long groups);
    [LibraryImport(Lib)] internal static partial IntPtr tt_group_norm(Tensor x, long groups, IntPtr w, IntPtr b, double eps);
    [LibraryImport(Lib)] internal static partial IntPtr tt_layer_norm(Tensor x, long* shape, int n, IntPtr w, IntPtr b, double eps);
    [LibraryImport(Lib)] internal static partial IntPtr tt_softmax(Tensor x, long dim);
    [LibraryImport(Lib)] internal static partial IntPtr tt_log_softmax(Tensor x, long dim);
    [LibraryImport(Lib)] internal static partial IntPtr tt_embedding(Tensor weight, Tensor ids);
    [LibraryImport(Lib)] internal static partial IntPtr tt_dropout(Tensor x, double p, int train);
    [LibraryImport(Lib)] internal static partial IntPtr tt_sdpa(Tensor q, Tensor k, Tensor v, IntPtr mask, int causal, double scale, int preferNative);
    [LibraryImport(Lib)] internal static partial IntPtr tt_interpolate_nearest(Tensor x, long outH, long outW, double scaleH, double scaleW);
    [LibraryImport(Lib)] internal static partial IntPtr tt_interpolate_bilinear(Tensor x, long outH, long outW, double scaleH, double scaleW,
        int alignCorners, int antialias);
    [LibraryImport(Lib)] internal static partial IntPtr tt_avg_pool2d(Tensor x, long kh, long kw, long sh, long sw, long ph, long pw,
        int ceilMode, int countIncludePad);
    [LibraryImport(Lib)] internal static partial IntPtr tt_pad(Tensor x, long* pad, int n, double value);
    [LibraryImport(Lib)] internal static partial IntPtr tt_mse_loss(Tensor a, Tensor b, int reduction);
}
