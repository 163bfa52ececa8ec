using TLoRA.Contracts.V1;
using TLoRA.WebUI.State;

namespace TLoRA.WebUI.Tests.State;

public sealed class InspectViewTests
{
    private static LayerInspection Layer(string block, int effective, params double[] sigma)
    {
        var l = new LayerInspection { Layer = $"{block}.attn", Block = block, Rank = sigma.Length, EffectiveRank = effective };
        l.DeltaSingularValues.AddRange(sigma);
        return l;
    }

    [Fact]
    public void Groups_layers_by_block_with_mean_effective_rank_and_normalised_spectra()
    {
        var reply = new InspectReply { Adapter = new AdapterInfo { AdapterId = "a", Method = AdapterMethod.Lora, Rank = 3 } };
        reply.Layers.Add(Layer("down_blocks.1", 2, 4, 2, 0));
        reply.Layers.Add(Layer("down_blocks.1", 3, 1, 1, 1));
        reply.Layers.Add(Layer("mid_block", 1, 0, 0, 0));
        var v = new InspectView(reply);

        Assert.Equal(["down_blocks.1", "mid_block"], v.Blocks.Select(b => b.Block));
        Assert.Equal(2.5, v.Blocks[0].MeanEffectiveRank);
        Assert.Equal(2, v.Blocks[0].Layers);
        Assert.Equal([1.0, 0.5, 0.0], v.Spectra[0].Layers[0].Normalised.Select(p => p.Value));
        Assert.Equal([1, 2, 3], v.Spectra[0].Layers[0].Normalised.Select(p => p.Index));
        // mean over the block's layers, index by index: (1+1)/2, (0.5+1)/2, (0+1)/2
        Assert.Equal([1.0, 0.75, 0.5], v.Spectra[0].Mean.Select(p => p.Value));
        // an untrained LoRA has ΔW = 0: its spectrum stays zero rather than dividing by zero
        Assert.Equal([0.0, 0.0, 0.0], v.Spectra[1].Mean.Select(p => p.Value));
    }
}
