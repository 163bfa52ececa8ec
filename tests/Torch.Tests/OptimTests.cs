using TLoRA.Torch.Optim;
using static TLoRA.Torch.Tests.Check;

namespace TLoRA.Torch.Tests;

public class OptimTests
{
    [Fact]
    public void AdamW_first_step_by_hand()
    {
        // One step from p = 1 with g = 0.5, lr 0.1, wd 0.01: p ← p·(1 − 0.001) − 0.1 · m̂/(√v̂ + ε) with m̂ = g and
        // √v̂ = |g|, so p = 0.999 − 0.1 = 0.899.
        using var scope = torch.NewDisposeScope();
        var p = new Parameter(T([1], 1));
        using var opt = new AdamW([p], lr: 0.1, weight_decay: 0.01);
        p.grad = T([0.5], 1);
        opt.step();
        Close([0.899], p, 1e-6);
    }

    [Fact]
    public void AdamW_matches_torch_optim_AdamW_over_three_steps()
    {
        using var scope = torch.NewDisposeScope();
        var p = new Parameter(T([1, -2], 2));
        using var opt = new AdamW([p], lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01);
        // values printed by torch.optim.AdamW (PyTorch 1.13) for the same gradients
        double[][] grads = [[0.5, -1.0], [0.1, 0.3], [-0.2, 0.0]];
        double[][] expected = [[0.8990000486373901, -1.8980000019073486], [0.8177969455718994, -1.8533172607421875],
            [0.7825437784194946, -1.8183910846710205]];
        for (var i = 0; i < 3; i++)
        {
            p.grad = T(grads[i], 2);
            opt.step();
            Close(expected[i], p, 1e-6);
        }
        Assert.Equal(3, opt.step_count);
        opt.zero_grad();
        Assert.Null(p.grad);
    }

    [Fact]
    public void AdamW_state_round_trips_so_training_resumes_identically()
    {
        using var scope = torch.NewDisposeScope();
        var a = new Parameter(T([1, -2], 2));
        var b = new Parameter(T([1, -2], 2));
        using var optA = new AdamW([a], lr: 0.05);
        using var optB = new AdamW([b], lr: 0.05);
        a.grad = T([0.5, -1.0], 2);
        optA.step();
        using (torch.no_grad()) b.copy_(a);
        optB.load_state_dict(optA.state_dict());
        a.grad = T([0.1, 0.3], 2);
        b.grad = T([0.1, 0.3], 2);
        optA.step();
        optB.step();
        Close(a, b, 1e-7);
        Assert.Throws<KeyNotFoundException>(() => optB.load_state_dict(new Dictionary<string, Tensor>()));
    }

    [Fact]
    public void AdamW_skips_parameters_without_gradients_and_validates_options()
    {
        using var scope = torch.NewDisposeScope();
        var p = new Parameter(T([1], 1));
        using var opt = new AdamW([p]);
        opt.step();
        Close([1], p);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([p], lr: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([p], beta1: 1));
    }

    [Fact]
    public void Clip_grad_norm_scales_to_the_max_norm()
    {
        using var scope = torch.NewDisposeScope();
        var a = new Parameter(T([3], 1));
        var b = new Parameter(T([0], 1));
        var c = new Parameter(T([0], 1));
        a.grad = T([3], 1);
        b.grad = T([4], 1);
        var total = torch.nn.utils.clip_grad_norm_([a, b, c], 1.0);
        Assert.Equal(5.0, total, 5);
        Close([0.6], a.grad!, 1e-5);
        Close([0.8], b.grad!, 1e-5);
        Assert.Null(c.grad);
        // below the limit nothing changes
        Assert.Equal(1.0, torch.nn.utils.clip_grad_norm_([a, b], 10.0), 4);
        Close([0.6], a.grad!, 1e-5);
    }
}
