using static TLoRA.Torch.Tests.Check;

namespace TLoRA.Torch.Tests;

public class ArithmeticTests
{
    [Fact]
    public void Operators_broadcast_like_pytorch()
    {
        using var scope = torch.NewDisposeScope();
        var a = T([1, 2, 3, 4, 5, 6], 2, 3);
        var b = T([10, 20, 30], 3);
        Close([11, 22, 33, 14, 25, 36], a + b);
        Close([-9, -18, -27, -6, -15, -24], a - b);
        Close([10, 40, 90, 40, 100, 180], a * b);
        Close([0.1, 0.1, 0.1, 0.4, 0.25, 0.2], a / b);
        Close([-1, -2, -3, -4, -5, -6], -a);
        var col = T([1, 2], 2, 1);
        Close([2, 3, 4, 6, 7, 8], a + col);
        Check.Shape(a + col, 2, 3);
        Close([21, 42, 63], a.select(0, 0).add(b, alpha: 2));
        Close([-19, -38, -57], a.select(0, 0).sub(b, alpha: 2));
    }

    [Fact]
    public void Scalars_on_either_side()
    {
        using var scope = torch.NewDisposeScope();
        var a = T([1, 2, 4], 3);
        Close([3, 4, 6], a + 2.0);
        Close([3, 4, 6], 2.0 + a);
        Close([-1, 0, 2], a - 2.0);
        Close([1, 0, -2], 2.0 - a);
        Close([3, 6, 12], 3.0 * a);
        Close([0.5, 1, 2], a / 2.0);
        Close([4, 2, 1], 4.0 / a);
        Close([1, 4, 16], a.pow(2));
        Close([1, 2, 16], a.pow(T([1, 1, 2], 3)));
    }

    [Fact]
    public void Integral_scalars_keep_integral_tensors_integral()
    {
        using var scope = torch.NewDisposeScope();
        var i = torch.arange(3);
        var r = i + 1;
        Assert.Equal(ScalarType.Int64, r.dtype);
        Assert.Equal(new long[] { 1, 2, 3 }, r.ToArray<long>());
        Assert.Equal(ScalarType.Float32, (i + 0.5).dtype);
        Assert.Equal(new long[] { 0, 2, 4 }, (2 * i).ToArray<long>());
        // integer tensors add and subtract (libtorch refuses a floating alpha for them)
        Assert.Equal(new long[] { 0, 2, 4 }, (i + i).ToArray<long>());
        Assert.Equal(new long[] { 0, 0, 0 }, (i - i).ToArray<long>());
        Assert.Equal(new long[] { 0, 3, 6 }, i.add(i, alpha: 2).ToArray<long>());
        Assert.Throws<TorchException>(() => i.add(i, alpha: 0.5));
        var acc = torch.zeros([3], ScalarType.Int64);
        acc.add_(i);
        Assert.Equal(new long[] { 0, 1, 2 }, acc.ToArray<long>());
    }

    [Fact]
    public void Matmul_bmm_and_linear()
    {
        using var scope = torch.NewDisposeScope();
        var a = T([1, 2, 3, 4], 2, 2);
        var b = T([5, 6, 7, 8], 2, 2);
        Close([19, 22, 43, 50], a.matmul(b));
        var ba = torch.stack([a, b]);
        Close([7, 10, 15, 22, 67, 78, 91, 106], ba.bmm(ba));
        // linear: x·Wᵀ + b with W = [[1,0],[1,1],[0,2]], b = [0.5, 0, -1]
        var w = T([1, 0, 1, 1, 0, 2], 3, 2);
        var bias = T([0.5, 0, -1], 3);
        Close([1.5, 3, 3, 3.5, 7, 7], torch.nn.functional.linear(a, w, bias));
        Close([1, 3, 4, 3, 7, 8], torch.nn.functional.linear(a, w));
        // a matmul over a batch of vectors broadcasts the matrix
        Check.Shape(torch.matmul(torch.ones(5, 3, 2), a), 5, 3, 2);
    }

    [Fact]
    public void Unary_math_matches_hand_values()
    {
        using var scope = torch.NewDisposeScope();
        var x = T([0.25, 1, 4], 3);
        Close([Math.Exp(0.25), Math.E, Math.Exp(4)], x.exp());
        Close([Math.Log(0.25), 0, Math.Log(4)], x.log());
        Close([0.5, 1, 2], x.sqrt());
        Close([2, 1, 0.5], x.rsqrt());
        Close([Math.Cos(0.25), Math.Cos(1), Math.Cos(4)], x.cos());
        Close([Math.Sin(0.25), Math.Sin(1), Math.Sin(4)], x.sin());
        Close([0.0625, 1, 16], x.square());
        Close([4, 1, 0.25], x.reciprocal());
        var y = T([-1.5, 0, 2.5], 3);
        Close([1.5, 0, 2.5], y.abs());
        Close([-2, 0, 2], y.floor());
        Close([-1, 0, 3], y.ceil());
        Close([-1, 0, 1], y.sign());
        Close([Math.Tanh(-1.5), 0, Math.Tanh(2.5)], y.tanh());
    }

    [Fact]
    public void Comparisons_where_masked_fill_and_clamp()
    {
        using var scope = torch.NewDisposeScope();
        var a = T([1, 5, 3], 3);
        var b = T([2, 5, 1], 3);
        Assert.Equal(new[] { false, true, false }, a.eq(b).ToArray<bool>());
        Assert.Equal(new[] { true, false, true }, a.ne(b).ToArray<bool>());
        Assert.Equal(new[] { true, false, false }, a.lt(b).ToArray<bool>());
        Assert.Equal(new[] { true, true, false }, a.le(b).ToArray<bool>());
        Assert.Equal(new[] { false, false, true }, a.gt(b).ToArray<bool>());
        Assert.Equal(new[] { false, true, true }, a.ge(b).ToArray<bool>());
        Assert.Equal(new[] { false, true, true }, a.gt(2.0).ToArray<bool>());
        Assert.Equal(ScalarType.Bool, a.gt(b).dtype);
        Close([2, 5, 3], torch.where(a.gt(b), a, b).maximum(b));
        Close([2, 5, 1], torch.where(a.lt(b), b, b));
        Close([1, -1, -1], a.masked_fill(a.gt(2.0), -1));
        Close([2, 4, 3], a.clamp(2, 4));
        Close([1, 4, 3], a.clamp(max: 4));
        Close([2, 5, 3], a.clamp(min: 2));
        Close([1, 5, 1], a.minimum(b).maximum(T([0, 5, 0], 3)).add(T([0, 0, 0], 3)));
        Assert.Equal(new[] { true, false }, T([1, 2], 2).eq(1.0).logical_or(T([0, 0], 2).eq(1.0)).ToArray<bool>());
        Assert.Equal(new[] { false, true }, T([1, 2], 2).eq(1.0).logical_not().ToArray<bool>());
    }

    [Fact]
    public void Reductions_over_dims_and_all()
    {
        using var scope = torch.NewDisposeScope();
        var a = T([1, 2, 3, 4, 5, 6], 2, 3);
        Assert.Equal(21, a.sum().item(), 5);
        Close([5, 7, 9], a.sum(0));
        Close([6, 15], a.sum(1));
        Check.Shape(a.sum(1, keepdim: true), 2, 1);
        Assert.Equal(3.5, a.mean().item(), 5);
        Close([2, 5], a.mean(1));
        Close([2.5, 3.5, 4.5], a.mean(0, keepdim: true).expand(2, 3).select(0, 1));
        // sample variance of 1,2,3 is 1; population variance is 2/3
        Close([1, 1], a.var(1));
        Close([2.0 / 3, 2.0 / 3], a.var(1, unbiased: false));
        Assert.Equal(3.5, a.var().item(), 5);
        Close([3, 6], a.amax([1]));
        Close([1, 2, 3], a.amin([0]));
        Assert.Equal(new long[] { 2, 2 }, a.argmax(1).ToArray<long>());
        Assert.Equal(Math.Sqrt(91), a.norm().item(), 4);
        Close([Math.Sqrt(14), Math.Sqrt(77)], a.norm(2, [1]));
        Close([1, 3, 6, 4, 9, 15], a.cumsum(1));
        Assert.Equal(ScalarType.Float64, a.sum(dtype: ScalarType.Float64).dtype);
    }

    [Fact]
    public void In_place_updates_change_the_tensor_itself()
    {
        using var scope = torch.NewDisposeScope();
        var a = T([1, 2], 2);
        a.add_(T([1, 1], 2), alpha: 3).mul_(2.0).add_(1.0);
        Close([9, 11], a);
        a.mul_(T([0, 1], 2));
        Close([0, 11], a);
        a.copy_(T([5, 6], 2));
        Close([5, 6], a);
        a.fill_(3);
        Close([3, 3], a);
        a.zero_();
        Close([0, 0], a);
    }
}
