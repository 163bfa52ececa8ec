using TLoRA.Engine.Adapters;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Adapters;

/// <summary>A mask that keeps the same leading k components in every row lets the layers take the first k components
/// of their weights instead of multiplying by the mask: the same delta and the same gradients.</summary>
public class ActiveRankTests
{
    [Theory]
    [InlineData(new float[] { 1, 1, 0, 0 }, 1, 2)]
    [InlineData(new float[] { 1, 1, 1, 0, 1, 1, 1, 0 }, 2, 3)]
    [InlineData(new float[] { 1, 1, 1, 1 }, 1, 4)]
    [InlineData(new float[] { 1, 0, 0, 0, 1, 0, 0, 0 }, 2, 1)]
    [InlineData(new float[] { 1, 0, 1, 0 }, 1, null)] // a hole
    [InlineData(new float[] { 1, 1, 0, 0, 1, 0, 0, 0 }, 2, null)] // rows differ
    [InlineData(new float[] { 0, 0, 0, 0 }, 1, null)] // nothing active
    [InlineData(new float[] { 1, 0.5f, 0, 0 }, 1, null)] // not 0/1
    public void A_uniform_prefix_is_found_and_any_other_mask_is_not(float[] values, int rows, int? expected)
    {
        using var mask = torch.tensor(values, rows, values.Length / rows);
        Assert.Equal(expected, RankMaskContext.UniformPrefix(mask));
        using var context = new RankMaskContext();
        context.Set(mask.clone());
        Assert.Equal(expected, context.ActiveRank);
        context.Set(null);
        Assert.Null(context.ActiveRank);
    }

    [Fact]
    public void Set_timesteps_gives_the_schedule_rank_as_the_active_rank()
    {
        using var scope = torch.NewDisposeScope();
        var spec = new AdapterSpec(AdapterMethod.TLoRA, Rank: 4, MinRank: 2);
        using var model = new ToyModel();
        using var network = AdapterNetwork.Attach(model, spec, new Generator(1));
        foreach (var t in new[] { 999.0, 600.0, 10.0 })
        {
            network.SetTimesteps([t]);
            Assert.Equal(network.Schedule.RankAt(t), network.Mask.ActiveRank);
            Assert.Equal(network.Schedule.RankAt(t), (int)network.Mask.Current!.sum().ItemDouble());
        }
    }

    [Theory]
    [InlineData(6, 6, 1, 2)]
    [InlineData(6, 6, 2, 4)]
    [InlineData(6, 6, 2, 6)] // all components: no mask multiply, no narrowing
    [InlineData(4, 6, 1, 5)] // a layer whose rank was capped by its dims (4) under a wider mask: all of its components
    public void TLoRA_over_the_first_k_components_equals_the_mask_multiplied(int layerRank, int maskWidth, int batch, int k)
    {
        using var scope = torch.NewDisposeScope();
        using var layer = new OrthogonalLoRALinearLayer(24, 16, layerRank, InitComponents.Last, new Generator(7));
        using (torch.no_grad())
        {
            layer.p_layer.weight.add_(torch.randn([16, layerRank], generator: new Generator(8)) * 0.1);
            layer.q_layer.weight.add_(torch.randn([layerRank, 24], generator: new Generator(9)) * 0.1);
            layer.lambda_layer.mul_(1.5);
        }
        var trainable = new[] { layer.q_layer.weight, layer.p_layer.weight, (Tensor)layer.lambda_layer };
        Compare(layer.rank, maskWidth, batch, k, trainable,
            (x, mask) => layer.forward(x, mask), (x, context) => layer.ForwardWith(x, context));
    }

    [Theory]
    [InlineData(6, 6, 1, 2)]
    [InlineData(6, 6, 2, 5)]
    [InlineData(6, 6, 1, 6)]
    [InlineData(4, 6, 2, 5)]
    public void Vanilla_over_the_first_k_components_equals_the_mask_multiplied(int layerRank, int maskWidth, int batch, int k)
    {
        using var scope = torch.NewDisposeScope();
        using var layer = new LoRALinearLayer(24, 16, layerRank, new Generator(7));
        using (torch.no_grad()) layer.up.weight.add_(torch.randn([16, layerRank], generator: new Generator(8)) * 0.1);
        var trainable = new[] { layer.down.weight, layer.up.weight };
        Compare(layer.rank, maskWidth, batch, k, trainable,
            (x, mask) => layer.forward(x, mask), (x, context) => layer.ForwardWith(x, context));
    }

    [Fact]
    public void TLoRA_over_the_first_k_components_is_exactly_zero_at_initialisation()
    {
        using var scope = torch.NewDisposeScope();
        using var layer = new OrthogonalLoRALinearLayer(24, 16, 6, InitComponents.Last, new Generator(1));
        var x = torch.randn([1, 5, 24], generator: new Generator(2));
        using var context = new RankMaskContext();
        for (var k = 1; k <= 6; k++)
        {
            context.Set(PrefixMask(1, 6, k), k);
            Assert.Equal(0.0, layer.ForwardWith(x, context).abs().amax().ItemDouble());
        }
    }

    private static Tensor PrefixMask(int batch, int width, int k)
    {
        var values = new float[batch * width];
        for (var i = 0; i < values.Length; i++) values[i] = i % width < k ? 1 : 0;
        return torch.tensor(values, batch, width);
    }

    // delta and the gradients of the trainable weights and of x: mask multiplied vs first k components
    private static void Compare(int layerRank, int maskWidth, int batch, int k, Tensor[] trainable,
        Func<Tensor, Tensor, Tensor> multiplied, Func<Tensor, RankMaskContext, Tensor> firstK)
    {
        var x = torch.randn([batch, 5, 24], generator: new Generator(10)).requires_grad_();
        var mask = PrefixMask(batch, maskWidth, k);
        using var context = new RankMaskContext();
        context.Set(mask.clone());
        Assert.Equal(k, context.ActiveRank);
        var inputs = trainable.Append(x).ToArray();

        var reference = multiplied(x, mask);
        var gradsReference = torch.autograd.grad([reference.square().sum()], inputs);
        var sliced = firstK(x, context);
        var gradsSliced = torch.autograd.grad([sliced.square().sum()], inputs);

        Assert.True(reference.abs().amax().ItemDouble() > 1e-3);
        Assert.True(ReferenceOutputs.RelativeError(reference, sliced) < 1e-6);
        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(inputs[i].shape, gradsSliced[i].shape);
            Assert.True(ReferenceOutputs.RelativeError(gradsReference[i], gradsSliced[i]) < 1e-5, $"gradient {i}");
        }
        // the components past k get exactly zero gradients, as the mask gives them
        var active = Math.Min(k, layerRank);
        for (var i = 0; i < trainable.Length && active < layerRank; i++)
        {
            var g = gradsSliced[i];
            var dim = g.size(0) == layerRank && g.size(1) != layerRank ? 0 : 1;
            Assert.Equal(0.0, g.narrow(dim, active, layerRank - active).abs().amax().ItemDouble());
        }
    }
}
