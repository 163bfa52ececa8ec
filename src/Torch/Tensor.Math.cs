using TLoRA.Torch.Interop;

namespace TLoRA.Torch;

/// <summary>Arithmetic with PyTorch's broadcasting and type promotion; integral scalars stay integral.</summary>
public partial class Tensor
{
    private static int IsInt(long _) => 1;

    public static Tensor operator +(Tensor a, Tensor b) => Wrap(Native.tt_add(a, b, 1.0));
    public static Tensor operator -(Tensor a, Tensor b) => Wrap(Native.tt_sub(a, b, 1.0));
    public static Tensor operator *(Tensor a, Tensor b) => Wrap(Native.tt_mul(a, b));
    public static Tensor operator /(Tensor a, Tensor b) => Wrap(Native.tt_div(a, b));
    public static Tensor operator -(Tensor a) => Wrap(Native.tt_neg(a));

    public static Tensor operator +(Tensor a, double s) => Wrap(Native.tt_add_scalar(a, s, 0));
    public static Tensor operator +(double s, Tensor a) => Wrap(Native.tt_add_scalar(a, s, 0));
    public static Tensor operator -(Tensor a, double s) => Wrap(Native.tt_sub_scalar(a, s, 0));
    public static Tensor operator -(double s, Tensor a) => Wrap(Native.tt_rsub_scalar(a, s, 0));
    public static Tensor operator *(Tensor a, double s) => Wrap(Native.tt_mul_scalar(a, s, 0));
    public static Tensor operator *(double s, Tensor a) => Wrap(Native.tt_mul_scalar(a, s, 0));
    public static Tensor operator /(Tensor a, double s) => Wrap(Native.tt_div_scalar(a, s, 0));
    public static Tensor operator /(double s, Tensor a) => Wrap(Native.tt_rdiv_scalar(a, s, 0));

    public static Tensor operator +(Tensor a, long s) => Wrap(Native.tt_add_scalar(a, s, IsInt(s)));
    public static Tensor operator +(long s, Tensor a) => Wrap(Native.tt_add_scalar(a, s, IsInt(s)));
    public static Tensor operator -(Tensor a, long s) => Wrap(Native.tt_sub_scalar(a, s, IsInt(s)));
    public static Tensor operator -(long s, Tensor a) => Wrap(Native.tt_rsub_scalar(a, s, IsInt(s)));
    public static Tensor operator *(Tensor a, long s) => Wrap(Native.tt_mul_scalar(a, s, IsInt(s)));
    public static Tensor operator *(long s, Tensor a) => Wrap(Native.tt_mul_scalar(a, s, IsInt(s)));
    public static Tensor operator /(Tensor a, long s) => Wrap(Native.tt_div_scalar(a, s, IsInt(s)));

    public Tensor add(Tensor other, double alpha = 1.0) => Wrap(Native.tt_add(this, other, alpha));
    public Tensor sub(Tensor other, double alpha = 1.0) => Wrap(Native.tt_sub(this, other, alpha));
    public Tensor mul(Tensor other) => this * other;
    public Tensor div(Tensor other) => this / other;
    public Tensor pow(Tensor exponent) => Wrap(Native.tt_pow(this, exponent));
    public Tensor pow(double exponent) => Wrap(Native.tt_pow_scalar(this, exponent, 0));
    public Tensor maximum(Tensor other) => Wrap(Native.tt_maximum(this, other));
    public Tensor minimum(Tensor other) => Wrap(Native.tt_minimum(this, other));
    public Tensor matmul(Tensor other) => Wrap(Native.tt_matmul(this, other));
    public Tensor bmm(Tensor other) => Wrap(Native.tt_bmm(this, other));

    // ---- comparisons (bool results) ----
    public Tensor eq(Tensor o) => Wrap(Native.tt_eq(this, o));
    public Tensor ne(Tensor o) => Wrap(Native.tt_ne(this, o));
    public Tensor lt(Tensor o) => Wrap(Native.tt_lt(this, o));
    public Tensor le(Tensor o) => Wrap(Native.tt_le(this, o));
    public Tensor gt(Tensor o) => Wrap(Native.tt_gt(this, o));
    public Tensor ge(Tensor o) => Wrap(Native.tt_ge(this, o));
    public Tensor eq(double s) => Wrap(Native.tt_eq_scalar(this, s, 0));
    public Tensor ne(double s) => Wrap(Native.tt_ne_scalar(this, s, 0));
    public Tensor lt(double s) => Wrap(Native.tt_lt_scalar(this, s, 0));
    public Tensor le(double s) => Wrap(Native.tt_le_scalar(this, s, 0));
    public Tensor gt(double s) => Wrap(Native.tt_gt_scalar(this, s, 0));
    public Tensor ge(double s) => Wrap(Native.tt_ge_scalar(this, s, 0));
    public Tensor logical_and(Tensor o) => Wrap(Native.tt_logical_and(this, o));
    public Tensor logical_or(Tensor o) => Wrap(Native.tt_logical_or(this, o));
    public Tensor logical_not() => Wrap(Native.tt_logical_not(this));
    public Tensor isnan() => Wrap(Native.tt_isnan(this));
    public Tensor isfinite() => Wrap(Native.tt_isfinite(this));

    // ---- unary ----
    public Tensor neg() => -this;
    public Tensor abs() => Wrap(Native.tt_abs(this));
    public Tensor exp() => Wrap(Native.tt_exp(this));
    public Tensor log() => Wrap(Native.tt_log(this));
    public Tensor sqrt() => Wrap(Native.tt_sqrt(this));
    public Tensor rsqrt() => Wrap(Native.tt_rsqrt(this));
    public Tensor square() => Wrap(Native.tt_square(this));
    public Tensor reciprocal() => Wrap(Native.tt_reciprocal(this));
    public Tensor cos() => Wrap(Native.tt_cos(this));
    public Tensor sin() => Wrap(Native.tt_sin(this));
    public Tensor tanh() => Wrap(Native.tt_tanh(this));
    public Tensor sigmoid() => Wrap(Native.tt_sigmoid(this));
    public Tensor relu() => Wrap(Native.tt_relu(this));
    public Tensor floor() => Wrap(Native.tt_floor(this));
    public Tensor ceil() => Wrap(Native.tt_ceil(this));
    public Tensor round() => Wrap(Native.tt_round(this));
    public Tensor sign() => Wrap(Native.tt_sign(this));

    /// <summary>Clamps to [min, max]; either bound may be omitted.</summary>
    public Tensor clamp(double? min = null, double? max = null) =>
        Wrap(Native.tt_clamp(this, min.HasValue ? 1 : 0, min ?? 0, max.HasValue ? 1 : 0, max ?? 0));

    public Tensor masked_fill(Tensor mask, double value) => Wrap(Native.tt_masked_fill(this, mask, value, 0));

    // ---- reductions; no dims means all elements ----
    public unsafe Tensor sum(long[]? dims = null, bool keepdim = false, ScalarType? dtype = null)
    {
        dims ??= [];
        fixed (long* p = dims) return Wrap(Native.tt_sum(this, p, dims.Length, keepdim ? 1 : 0, dtype.HasValue ? (int)dtype.Value : -1));
    }
    public Tensor sum(long dim, bool keepdim = false) => sum([dim], keepdim);

    public unsafe Tensor mean(long[]? dims = null, bool keepdim = false, ScalarType? dtype = null)
    {
        dims ??= [];
        fixed (long* p = dims) return Wrap(Native.tt_mean(this, p, dims.Length, keepdim ? 1 : 0, dtype.HasValue ? (int)dtype.Value : -1));
    }
    public Tensor mean(long dim, bool keepdim = false) => mean([dim], keepdim);

    public unsafe Tensor var(long[]? dims = null, bool unbiased = true, bool keepdim = false)
    {
        dims ??= [];
        fixed (long* p = dims) return Wrap(Native.tt_var(this, p, dims.Length, unbiased ? 1 : 0, keepdim ? 1 : 0));
    }
    public Tensor var(long dim, bool unbiased = true, bool keepdim = false) => var([dim], unbiased, keepdim);

    public unsafe Tensor amax(long[]? dims = null, bool keepdim = false)
    {
        dims ??= [];
        fixed (long* p = dims) return Wrap(Native.tt_amax(this, p, dims.Length, keepdim ? 1 : 0));
    }
    public unsafe Tensor amin(long[]? dims = null, bool keepdim = false)
    {
        dims ??= [];
        fixed (long* p = dims) return Wrap(Native.tt_amin(this, p, dims.Length, keepdim ? 1 : 0));
    }
    public Tensor argmax(long dim, bool keepdim = false) => Wrap(Native.tt_argmax(this, dim, keepdim ? 1 : 0));

    /// <summary>p-norm over the given dims (all elements when none).</summary>
    public unsafe Tensor norm(double p = 2.0, long[]? dims = null, bool keepdim = false)
    {
        dims ??= [];
        fixed (long* d = dims) return Wrap(Native.tt_norm(this, p, d, dims.Length, keepdim ? 1 : 0));
    }
    public Tensor cumsum(long dim) => Wrap(Native.tt_cumsum(this, dim));

    // ---- in place (the caller guards autograd, as in PyTorch) ----
    public Tensor add_(Tensor other, double alpha = 1.0) { TorchException.Check(Native.tt_add_(this, other, alpha)); return this; }
    public Tensor add_(double s) { TorchException.Check(Native.tt_add_scalar_(this, s)); return this; }
    public Tensor mul_(Tensor other) { TorchException.Check(Native.tt_mul_(this, other)); return this; }
    public Tensor mul_(double s) { TorchException.Check(Native.tt_mul_scalar_(this, s)); return this; }
    public Tensor copy_(Tensor src) { TorchException.Check(Native.tt_copy_(this, src)); return this; }
    public Tensor zero_() { TorchException.Check(Native.tt_zero_(this)); return this; }
    public Tensor fill_(double v) { TorchException.Check(Native.tt_fill_(this, v, 0)); return this; }
    public Tensor normal_(double mean = 0, double std = 1, Generator? generator = null)
    {
        TorchException.Check(Native.tt_normal_(this, mean, std, generator.RawHandle()));
        GC.KeepAlive(generator);
        return this;
    }
    public Tensor uniform_(double from = 0, double to = 1, Generator? generator = null)
    {
        TorchException.Check(Native.tt_uniform_(this, from, to, generator.RawHandle()));
        GC.KeepAlive(generator);
        return this;
    }
}
