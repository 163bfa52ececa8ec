using TLoRA.Engine.Training;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Training;

/// <summary>The optimiser's flat-buffer step, bit for bit (checked here under ATEN_CPU_CAPABILITY default, avx2 and avx512), against PyTorch's single-tensor AdamW written out per parameter
/// (torch/optim/adamw.py, _single_tensor_adamw: decay, lerp, addcmul, sqrt / √bc2 + ε, addcdiv).</summary>
public sealed class AdamWTests
{
    private const double Lr = 1e-2, Beta1 = 0.9, Beta2 = 0.999, Eps = 1e-8, Decay = 1e-2;

    [Fact]
    public void Steps_match_the_single_tensor_formula_also_when_a_parameter_has_no_gradient()
    {
        using var scope = torch.NewDisposeScope();
        var shapes = new long[][] { [3, 5], [7], [1, 13], [64, 9], [16, 33] }; // odd sizes: vector bodies and tails
        var generator = new Generator(11);
        var ours = shapes.Select(s => new Parameter(torch.randn(s, generator: generator))).ToList();
        var reference = ours.Select(p => p.detach().clone()).ToList();
        var m = reference.Select(p => torch.zeros_like(p)).ToList();
        var v = reference.Select(p => torch.zeros_like(p)).ToList();
        using var optimizer = new AdamW(ours, Lr, Beta1, Beta2, Eps, Decay);
        for (var step = 1; step <= 6; step++)
        {
            var skip = step == 3 ? 1 : -1; // one parameter without a gradient: that step is taken per parameter
            for (var i = 0; i < shapes.Length; i++)
            {
                var g = torch.randn(shapes[i], generator: generator);
                ours[i].grad = i == skip ? null : g.clone();
                if (i == skip) continue;
                var t = step; // bias corrections count the optimiser's steps (all parameters step together)
                reference[i].mul_(1 - Lr * Decay);
                m[i].lerp_(g, 1 - Beta1);
                v[i].mul_(Beta2).addcmul_(g, g, 1 - Beta2);
                var denom = (v[i].sqrt() / Math.Sqrt(1 - Math.Pow(Beta2, t))).add_(Eps);
                reference[i].addcdiv_(m[i], denom, -Lr / (1 - Math.Pow(Beta1, t)));
            }
            optimizer.step();
        }
        for (var i = 0; i < shapes.Length; i++)
            Assert.True(ours[i].detach().eq(reference[i]).all().item<bool>(), $"parameter {i} differs: max {(ours[i].detach() - reference[i]).abs().max().item<float>()}, unequal {(ours[i].detach() != reference[i]).sum().item<long>()} of {reference[i].numel()}");
        var state = optimizer.state_dict();
        Assert.Equal(1 + 2 * shapes.Length, state.Count);
        for (var i = 0; i < shapes.Length; i++) Assert.True(state[$"{i}.exp_avg"].allclose(m[i], rtol: 1e-6, atol: 1e-12));
        foreach (var t in state.Values) t.Dispose();
    }

    [Fact]
    public void State_saved_and_loaded_continues_bit_for_bit_and_names_a_shape_mismatch()
    {
        using var scope = torch.NewDisposeScope();
        var generator = new Generator(5);
        Parameter[] Make() => [new Parameter(torch.ones([4, 3])), new Parameter(torch.ones([5]))];
        var a = Make();
        var b = Make();
        using var first = new AdamW(a, Lr);
        var grads = Enumerable.Range(0, 4).Select(_ => new[] { torch.randn([4, 3], generator: generator), torch.randn([5], generator: generator) }).ToList();
        foreach (var g in grads.Take(2))
        {
            for (var i = 0; i < 2; i++) a[i].grad = g[i].clone();
            first.step();
        }
        using (torch.no_grad())
            for (var i = 0; i < 2; i++) b[i].copy_(a[i]);
        using var second = new AdamW(b, Lr);
        var saved = first.state_dict();
        second.load_state_dict(saved);
        foreach (var g in grads.Skip(2))
        {
            for (var i = 0; i < 2; i++) (a[i].grad, b[i].grad) = (g[i].clone(), g[i].clone());
            first.step();
            second.step();
        }
        for (var i = 0; i < 2; i++) Assert.Equal(a[i].detach().ToArray<float>(), b[i].detach().ToArray<float>());

        saved["1.exp_avg"] = torch.zeros([6]);
        var e = Assert.Throws<ArgumentException>(() => new AdamW(Make(), Lr).load_state_dict(saved));
        Assert.Contains("1.exp_avg", e.Message);
    }
}
