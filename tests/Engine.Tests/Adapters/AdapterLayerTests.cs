using TLoRA.Engine.Adapters;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Adapters;

public class AdapterLayerTests
{
    [Fact]
    public void Orthogonal_init_is_a_zero_delta_with_orthonormal_factors()
    {
        using var scope = torch.NewDisposeScope();
        using var layer = new OrthogonalLoRALinearLayer(24, 16, 4, InitComponents.Last, new Generator(1));
        var x = torch.randn([3, 5, 24], generator: new Generator(2));
        // exactly zero, as the official lora(x) − lora0(x) of two identical halves, with and without a rank mask
        Assert.Equal(0.0, layer.forward(x, null).abs().amax().ItemDouble());
        var mask = torch.tensor(new float[] { 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1 }, 3, 4);
        Assert.Equal(0.0, layer.forward(x, mask).abs().amax().ItemDouble());
        Assert.True(Unstacked(layer, x, null).trainable.abs().amax().ItemDouble() > 1e-3); // each half is not zero
        var q = layer.q_layer.weight;
        var p = layer.p_layer.weight;
        Assert.True((q.matmul(q.mT) - torch.eye(4)).abs().amax().ItemDouble() < 1e-5);
        Assert.True((p.mT.matmul(p) - torch.eye(4)).abs().amax().ItemDouble() < 1e-5);
        var l = layer.lambda_layer.ToArray<float>();
        Assert.Equal(l.OrderByDescending(v => v).ToArray(), l);
        Assert.False(layer.base_q.weight.requires_grad);
        Assert.False(layer.base_lambda.requires_grad);
        Assert.True(layer.lambda_layer.requires_grad);
    }

    [Fact]
    public void Init_components_pick_the_spectrum_window()
    {
        using var scope = torch.NewDisposeScope();
        float[] Lambdas(InitComponents c)
        {
            using var layer = new OrthogonalLoRALinearLayer(12, 12, 2, c, new Generator(3));
            return layer.lambda_layer.ToArray<float>();
        }
        // same random matrix (same seed): its 12 singular values s0 ≥ ... ≥ s11
        var (_, s, _) = torch.linalg.svd(torch.randn([12, 12], generator: new Generator(3)) * 0.5, fullMatrices: false);
        var sv = s.ToArray<float>();
        Assert.Equal(sv[..2], Lambdas(InitComponents.Principal), new FloatTolerance(1e-5f));
        Assert.Equal(sv[10..], Lambdas(InitComponents.Last), new FloatTolerance(1e-5f));
        Assert.Equal(sv[5..7], Lambdas(InitComponents.Middle), new FloatTolerance(1e-5f)); // ⌈(12 − 2)/2⌉ = 5
    }

    [Fact]
    public void Masked_components_do_not_contribute()
    {
        using var scope = torch.NewDisposeScope();
        using var layer = new OrthogonalLoRALinearLayer(8, 8, 4, InitComponents.Last, new Generator(4));
        var x = torch.randn([2, 8], generator: new Generator(5));
        var mask = torch.tensor(new float[] { 1, 1, 0, 0 }, 1, 4);
        using (torch.no_grad())
        {
            layer.p_layer.weight.add_(torch.randn([8, 4], generator: new Generator(6)));
            var before = layer.forward(x, mask);
            // change only the masked components (columns 2, 3 of P and entries 2, 3 of λ)
            layer.p_layer.weight.narrow(1, 2, 2).add_(torch.ones(8, 2));
            layer.lambda_layer.narrow(1, 2, 2).mul_(3.0);
            var after = layer.forward(x, mask);
            Assert.True((before - after).abs().amax().ItemDouble() < 1e-6);
            Assert.True((layer.forward(x, null) - before).abs().amax().ItemDouble() > 1e-3);
        }
    }

    [Fact]
    public void Vanilla_layer_starts_at_zero_and_follows_up_down()
    {
        using var scope = torch.NewDisposeScope();
        using var layer = new LoRALinearLayer(6, 5, 3, new Generator(7));
        var x = torch.randn([4, 6], generator: new Generator(8));
        Assert.Equal(0.0, layer.forward(x, null).abs().amax().ItemDouble());
        using (torch.no_grad()) layer.up.weight.copy_(torch.randn([5, 3], generator: new Generator(9)));
        var expected = x.matmul(layer.down.weight.mT).matmul(layer.up.weight.mT);
        Assert.True((layer.forward(x, null) - expected).abs().amax().ItemDouble() < 1e-5);
        var mask = torch.tensor(new float[] { 1, 0, 0 }, 1, 3);
        var masked = x.matmul(layer.down.weight.narrow(0, 0, 1).mT).matmul(layer.up.weight.narrow(1, 0, 1).mT);
        Assert.True((layer.forward(x, mask) - masked).abs().amax().ItemDouble() < 1e-5);
    }

    [Fact]
    public void Rank_above_the_layer_dims_is_refused_with_the_dims()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new OrthogonalLoRALinearLayer(4, 8, 6));
        Assert.Contains("exceeds the layer's dims 8×4", ex.Message);
    }

    private sealed class FloatTolerance(float tol) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tol * (1 + Math.Abs(b));
        public int GetHashCode(float v) => 0;
    }

    /// <summary>The delta as the official code writes it: p(q(x)·λ·m) − base_p(base_q(x)·base_λ·m), four projections.</summary>
    private static (Tensor delta, Tensor trainable) Unstacked(OrthogonalLoRALinearLayer l, Tensor x, Tensor? mask)
    {
        var q = l.q_layer.call(x) * l.lambda_layer;
        var bq = l.base_q.call(x) * l.base_lambda;
        if (mask is not null)
        {
            var m = mask.view(mask.size(0), 1, mask.size(1));
            q = q * m;
            bq = bq * m;
        }
        var trainable = l.p_layer.call(q);
        return (trainable - l.base_p.call(bq), trainable);
    }

    [Fact]
    public void Stacked_projection_matches_the_four_projection_formula_and_its_gradients()
    {
        using var scope = torch.NewDisposeScope();
        using var layer = new OrthogonalLoRALinearLayer(24, 16, 6, InitComponents.Last, new Generator(7));
        using (torch.no_grad())
        {
            layer.p_layer.weight.add_(torch.randn([16, 6], generator: new Generator(8)) * 0.1);
            layer.q_layer.weight.add_(torch.randn([6, 24], generator: new Generator(9)) * 0.1);
            layer.lambda_layer.mul_(1.5);
        }
        var x = torch.randn([2, 5, 24], generator: new Generator(10));
        var mask = torch.tensor(new float[] { 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0 }, [2, 6]);
        var trainable = new[] { layer.q_layer.weight, layer.p_layer.weight, layer.lambda_layer };

        var stacked = layer.forward(x, mask);
        var gradsStacked = torch.autograd.grad([stacked.square().sum()], trainable);
        var (reference, _) = Unstacked(layer, x, mask);
        var gradsReference = torch.autograd.grad([reference.square().sum()], trainable);

        Assert.True(ReferenceOutputs.RelativeError(reference, stacked) < 1e-5);
        for (var i = 0; i < trainable.Length; i++)
            Assert.True(ReferenceOutputs.RelativeError(gradsReference[i], gradsStacked[i]) < 1e-5, $"gradient {i}");
        Assert.False(layer.base_q.weight.requires_grad);
        Assert.False(layer.base_p.weight.requires_grad);
    }

    [Fact]
    public void Shared_mask_context_gives_the_same_delta_and_follows_each_new_mask()
    {
        using var scope = torch.NewDisposeScope();
        using var layer = new OrthogonalLoRALinearLayer(24, 16, 4, InitComponents.Last, new Generator(11));
        using (torch.no_grad()) layer.p_layer.weight.add_(torch.randn([16, 4], generator: new Generator(12)) * 0.1);
        var x = torch.randn([2, 5, 24], generator: new Generator(13));
        using var context = new RankMaskContext();
        double Difference(Tensor? mask) => (layer.ForwardWith(x, context) - layer.forward(x, mask)).abs().amax().ItemDouble();
        Assert.True(layer.forward(x, null).abs().amax().ItemDouble() > 1e-3);
        Assert.Equal(0.0, Difference(null));
        foreach (var values in new[] { new float[] { 1, 1, 0, 0, 1, 1, 1, 0 }, new float[] { 1, 0, 0, 0, 1, 1, 1, 1 } })
        {
            var mask = torch.tensor(values, 2, 4);
            context.Set(mask.clone());
            Assert.Equal(0.0, Difference(mask));
            Assert.Equal(0.0, Difference(mask)); // from the cache
        }
        // a mask wider than the layer's rank (a rank capped by its dims): its first columns
        context.Set(torch.tensor(new float[] { 1, 1, 0, 0, 1, 1 }, 1, 6));
        Assert.Equal(0.0, Difference(torch.tensor(new float[] { 1, 1, 0, 0 }, 1, 4)));
        Assert.True((layer.ForwardWith(x, context) - layer.forward(x, null)).abs().amax().ItemDouble() > 1e-4);
    }
}
