using static TLoRA.Torch.Tests.Check;
using F = TLoRA.Torch.torch.nn.functional;

namespace TLoRA.Torch.Tests;

public class NnFunctionalTests
{
    [Fact]
    public void Conv2d_stride_padding_groups_bias()
    {
        using var scope = torch.NewDisposeScope();
        var x = T([1, 2, 3, 4, 5, 6, 7, 8, 9], 1, 1, 3, 3);
        var w = torch.ones(1, 1, 2, 2);
        Close([12, 16, 24, 28], F.conv2d(x, w));
        // padded by one and strided by two, each window sees only some of the input
        Close([1, 5, 11, 28], F.conv2d(x, w, null, stride: 2, padding: 1));
        Close([13, 17, 25, 29], F.conv2d(x, w, T([1], 1)));
        // two channels, groups = 2: each channel scaled by its own 1×1 kernel
        var x2 = torch.cat([x, x], 1);
        var y = F.conv2d(x2, T([2, 3], 2, 1, 1, 1), null, groups: 2);
        Check.Shape(y, 1, 2, 3, 3);
        Close([3, 6, 9], y.select(1, 1).select(1, 0).flatten());
        var ex = Assert.Throws<TorchException>(() => F.conv2d(x, torch.ones(1, 2, 2, 2)));
        Assert.Contains("channels", ex.Message);
    }

    [Fact]
    public void Group_norm_and_layer_norm()
    {
        using var scope = torch.NewDisposeScope();
        var x = T([1, 2, 3, 4], 1, 4, 1, 1);
        var s = 0.5 / Math.Sqrt(0.25 + 1e-5);
        Close([-s, s, -s, s], F.group_norm(x, 2));
        Close([-s, 2 * s, 1 - 3 * s, 1 + 4 * s], F.group_norm(x, 2, T([1, 2, 3, 4], 4), T([0, 0, 1, 1], 4)));
        var l = 1 / Math.Sqrt(2.0 / 3 + 1e-5);
        Close([-l, 0, l], F.layer_norm(T([1, 2, 3], 1, 3), [3]));
        Close([-2 * l + 1, 1, 2 * l + 1], F.layer_norm(T([1, 2, 3], 1, 3), [3], T([2, 2, 2], 3), T([1, 1, 1], 3)));
        Assert.Throws<TorchException>(() => F.group_norm(x, 3));
    }

    [Fact]
    public void Activations()
    {
        using var scope = torch.NewDisposeScope();
        var x = T([-1, 1, 2], 3);
        double Sig(double v) => 1 / (1 + Math.Exp(-v));
        Close([-1 * Sig(-1), Sig(1), 2 * Sig(2)], F.silu(x));
        Close([Sig(-1), Sig(1), Sig(2)], F.sigmoid(x));
        Close([0, 1, 2], F.relu(x));
        // x·Φ(x) with Φ(1) = 0.8413447460685429, Φ(2) = 0.9772498680518208
        Close([-(1 - 0.8413447460685429), 0.8413447460685429, 2 * 0.9772498680518208], F.gelu(x));
        double GeluTanh(double v) => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
        Close([GeluTanh(-1), GeluTanh(1), GeluTanh(2)], F.gelu(x, "tanh"));
        Assert.Throws<ArgumentException>(() => F.gelu(x, "fast"));
        var e = new[] { Math.Exp(1), Math.Exp(2), Math.Exp(3) };
        var z = e.Sum();
        Close([e[0] / z, e[1] / z, e[2] / z], F.softmax(T([1, 2, 3], 3), 0));
        Close([Math.Log(e[0] / z), Math.Log(e[1] / z), Math.Log(e[2] / z)], F.log_softmax(T([1, 2, 3], 3), -1));
        Close([-1, 1, 2], F.dropout(x, 0.5, training: false));
    }

    [Fact]
    public void Attention_matches_the_formula_with_masks()
    {
        using var scope = torch.NewDisposeScope();
        var q = T([1, 0], 1, 1, 2);
        var k = T([1, 0, 0, 1], 1, 2, 2);
        var v = T([1, 2, 3, 4], 1, 2, 2);
        var w1 = Math.Exp(1 / Math.Sqrt(2)) / (Math.Exp(1 / Math.Sqrt(2)) + 1);
        Close([w1 * 1 + (1 - w1) * 3, w1 * 2 + (1 - w1) * 4], F.scaled_dot_product_attention(q, k, v));
        // explicit scale 1
        var w2 = Math.E / (Math.E + 1);
        Close([w2 * 1 + (1 - w2) * 3, w2 * 2 + (1 - w2) * 4], F.scaled_dot_product_attention(q, k, v, scale: 1.0));
        // a boolean mask that hides the second key leaves the first value
        var keepFirst = torch.tensor(new[] { true, false }, 1, 1, 2);
        Close([1, 2], F.scaled_dot_product_attention(q, k, v, keepFirst));
        // causal: query 0 sees key 0 only
        var q2 = T([1, 0, 0, 1], 1, 2, 2);
        var causal = F.scaled_dot_product_attention(q2, k, v, is_causal: true);
        Close([1, 2], causal.select(1, 0).flatten());
        // the fused kernel (libtorch ≥ 2) and the composed one agree on random multi-head input
        var g = new Generator(3);
        var qq = torch.randn([2, 4, 5, 8], g);
        var kk = torch.randn([2, 4, 7, 8], g);
        var vv = torch.randn([2, 4, 7, 8], g);
        Close(F.scaled_dot_product_attention_composed(qq, kk, vv), F.scaled_dot_product_attention(qq, kk, vv), 1e-5);
        Check.Shape(F.scaled_dot_product_attention(qq, kk, vv), 2, 4, 5, 8);
    }

    [Fact]
    public void Nearest_interpolation_pooling_and_padding()
    {
        using var scope = torch.NewDisposeScope();
        var x = T([1, 2, 3, 4], 1, 1, 2, 2);
        Close([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4], F.interpolate(x, scale_factor: 2));
        Close([1, 1, 2, 1, 1, 2, 3, 3, 4], F.interpolate(x, size: (3, 3)));
        Assert.Throws<ArgumentException>(() => F.interpolate(x));
        var y = torch.arange(16, ScalarType.Float32).view(1, 1, 4, 4);
        Close([2.5, 4.5, 10.5, 12.5], F.avg_pool2d(y, 2));
        Close([0, 1, 2, 0, 0], F.pad(T([1, 2], 2), [1, 2]));
        var p = F.pad(x, [0, 1, 0, 1], 9);
        Check.Shape(p, 1, 1, 3, 3);
        Close([1, 2, 9, 3, 4, 9, 9, 9, 9], p);
    }

    [Fact]
    public void Mse_loss_reductions()
    {
        using var scope = torch.NewDisposeScope();
        var a = T([1, 2, 3], 3);
        var b = T([1, 0, 0], 3);
        Assert.Equal(13.0 / 3, F.mse_loss(a, b).item(), 5);
        Assert.Equal(13.0, F.mse_loss(a, b, "sum").item(), 5);
        Close([0, 4, 9], F.mse_loss(a, b, "none"));
        Assert.Throws<ArgumentException>(() => F.mse_loss(a, b, "max"));
    }
}
