using static TLoRA.Torch.Tests.Check;
using F = TLoRA.Torch.torch.nn.functional;

namespace TLoRA.Torch.Tests;

public class AutogradTests
{
    /// <summary>A scalar function of x exercising matmul, silu, softmax, group norm and broadcasting.</summary>
    private static Tensor Loss(Tensor x, Tensor w, Tensor c)
    {
        var h = F.silu(x.matmul(w));
        var s = F.softmax(h, -1) * c;
        var n = F.group_norm(h.unsqueeze(0), 1);
        return s.sum() + (n * n * c).mean() + F.gelu(h, "tanh").pow(2).sum();
    }

    [Fact]
    public void Backward_matches_central_finite_differences()
    {
        using var scope = torch.NewDisposeScope();
        var g = new Generator(7);
        var x = torch.randn([3, 4], g, ScalarType.Float64).requires_grad_();
        var w = torch.randn([4, 5], g, ScalarType.Float64);
        var c = torch.randn([3, 5], g, ScalarType.Float64);
        Loss(x, w, c).backward();
        var analytic = x.grad!.ToArray<double>();

        var xs = x.detach().ToArray<double>();
        const double h = 1e-6;
        for (var i = 0; i < xs.Length; i++)
        {
            double Eval(double delta)
            {
                var copy = (double[])xs.Clone();
                copy[i] += delta;
                using var inner = torch.NewDisposeScope();
                return Loss(torch.tensor(copy, 3, 4), w, c).item();
            }
            var numeric = (Eval(h) - Eval(-h)) / (2 * h);
            Assert.True(Math.Abs(numeric - analytic[i]) < 1e-6 * (1 + Math.Abs(numeric)), $"d/dx[{i}]: numeric {numeric}, autograd {analytic[i]}");
        }
    }

    [Fact]
    public void Grad_lifecycle_leaf_accumulation_and_reset()
    {
        using var scope = torch.NewDisposeScope();
        var x = T([1, 2, 3], 3).requires_grad_();
        Assert.True(x.requires_grad);
        Assert.True(x.is_leaf);
        Assert.Null(x.grad);
        var y = (x * x).sum();
        Assert.False(y.is_leaf);
        y.backward(retainGraph: true);
        Close([2, 4, 6], x.grad!);
        y.backward();
        Close([4, 8, 12], x.grad!); // gradients accumulate, as in PyTorch
        x.grad = null;
        Assert.Null(x.grad);
        (x * 3.0).backward(T([1, 0, 2], 3));
        Close([3, 0, 6], x.grad!);
        x.grad = T([9, 9, 9], 3);
        Close([9, 9, 9], x.grad!);
    }

    [Fact]
    public void No_grad_scope_stops_recording_and_nests()
    {
        using var scope = torch.NewDisposeScope();
        var x = T([1, 2], 2).requires_grad_();
        Assert.True(torch.is_grad_enabled());
        using (torch.no_grad())
        {
            Assert.False(torch.is_grad_enabled());
            Assert.False((x * 2.0).requires_grad);
            using (torch.enable_grad())
            {
                Assert.True((x * 2.0).requires_grad);
            }
            Assert.False(torch.is_grad_enabled());
        }
        Assert.True(torch.is_grad_enabled());
        Assert.True((x * 2.0).requires_grad);
        Assert.False(x.detach().requires_grad);
    }

    [Fact]
    public void Backward_errors_carry_libtorch_messages()
    {
        using var scope = torch.NewDisposeScope();
        var x = T([1, 2], 2).requires_grad_();
        var ex = Assert.Throws<TorchException>(() => (x * 2.0).backward());
        Assert.Contains("scalar outputs", ex.Message);
        var y = T([1, 2], 2);
        Assert.Throws<TorchException>(() => y.sum().backward());
    }
}
