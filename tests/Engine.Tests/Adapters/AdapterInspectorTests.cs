using TLoRA.Engine.Adapters;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Adapters;

public class AdapterInspectorTests
{
    [Theory]
    [InlineData(new double[] { 10, 0, 0 }, 1)]
    [InlineData(new double[] { 5, 4, 1 }, 3)]      // 9/10 < 0.95
    [InlineData(new double[] { 50, 45, 5 }, 2)]     // 95/100 = 0.95
    [InlineData(new double[] { 0, 0 }, 0)]
    public void Effective_rank_is_the_fewest_values_holding_95_percent(double[] s, int expected) =>
        Assert.Equal(expected, AdapterInspector.EffectiveRank(s));

    [Fact]
    public void Spectra_match_a_direct_svd_of_the_delta()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new ToyModel();
        using var net = AdapterNetwork.Attach(model, new AdapterSpec(AdapterMethod.TLoRA, 4, 2), new Generator(1));
        var layer = (OrthogonalLoRALinearLayer)net.Layers[0].Processor.Layers["to_v"];
        using (torch.no_grad())
        {
            layer.p_layer.weight.add_(torch.randn([8, 4], generator: new Generator(2)) * 0.1);
            layer.lambda_layer.mul_(2.0);
        }
        var inspections = AdapterInspector.Inspect(net);
        Assert.Equal(2 * 4, inspections.Count);
        var v = inspections.Single(i => i.Layer == "blocks.0.to_v");
        var delta = (layer.p_layer.weight * layer.lambda_layer).matmul(layer.q_layer.weight)
                    - (layer.base_p.weight * layer.base_lambda).matmul(layer.base_q.weight);
        var (_, s, _) = torch.linalg.svd(delta.to(ScalarType.Float64), fullMatrices: false);
        var direct = s.ToArray<double>();
        for (var i = 0; i < direct.Length; i++) Assert.True(Math.Abs(direct[i] - v.DeltaSingularValues[i]) < 1e-5, $"σ{i}: {direct[i]} vs {v.DeltaSingularValues[i]}");
        Assert.Equal(AdapterInspector.EffectiveRank(direct), v.EffectiveRank);
        Assert.True(v.QOrthogonalityError < 1e-5);
        Assert.True(v.POrthogonalityError > 1e-3); // P moved off orthogonality
        // untouched layers: zero delta, orthonormal factors
        var q = inspections.Single(i => i.Layer == "blocks.0.to_q");
        Assert.Equal(0, q.EffectiveRank);
        Assert.True(q.POrthogonalityError < 1e-5);
        var summary = AdapterInspector.Summarise(inspections);
        Assert.Equal(8, summary.Layers);
        Assert.Equal(["blocks.0", "blocks.1"], summary.MeanEffectiveRankByBlock.Keys.Order());
        Assert.Equal("down_blocks.1", AdapterInspector.BlockOf("down_blocks.1.attentions.0.transformer_blocks.0.attn1"));
        Assert.Equal("mid_block", AdapterInspector.BlockOf("mid_block.attentions.0"));
    }
}

public class AdapterFileInspectionTests
{
    [Fact]
    public void The_official_fixture_adapter_inspects_without_a_model()
    {
        var path = Path.Combine(FixturePaths.SdxlTiny, "reference_tlora_adapter.safetensors");
        var projections = FixtureFacts.HeaderNames(path).Count(n => n.EndsWith(".q_layer.weight", StringComparison.Ordinal));
        var processors = AdapterFile.ReadProcessors(path);
        try
        {
            var inspections = AdapterInspector.Inspect(processors);
            Assert.Equal(projections, inspections.Count); // one per adapted projection in the file
            // an untrained T-LoRA: zero deltas, orthonormal Q and P
            Assert.All(inspections, i => Assert.Equal(0, i.EffectiveRank));
            Assert.All(inspections, i => Assert.True(i.QOrthogonalityError < 1e-4 && i.POrthogonalityError < 1e-4, i.Layer));
            Assert.Contains("up_blocks.0", AdapterInspector.Summarise(inspections).MeanEffectiveRankByBlock.Keys);
        }
        finally
        {
            foreach (var (_, p) in processors) p.Dispose();
        }
        var vanilla = AdapterFile.ReadProcessors(Path.Combine(FixturePaths.SdxlTiny, "reference_vanilla_tlora_adapter.safetensors"));
        try
        {
            var v = AdapterInspector.Inspect(vanilla);
            Assert.All(v, i => Assert.InRange(i.EffectiveRank, 1, 4)); // random up and down: full rank 4 deltas
        }
        finally
        {
            foreach (var (_, p) in vanilla) p.Dispose();
        }
    }
}
