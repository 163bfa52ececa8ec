using TLoRA.Engine.Common;
using TLoRA.Engine.IO;
using TLoRA.Engine.Unet;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Tests.Common;

/// <summary>The attention seam where T-LoRA adapters hook in.</summary>
public sealed class AttentionTests
{
    private static double MaxDiff(Tensor a, Tensor b)
    {
        using var scope = torch.NewDisposeScope();
        return (a - b).abs().amax().ItemDouble();
    }

    [Fact]
    public void A_constant_to_v_delta_shifts_the_output_by_to_out_of_it()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(1);
        using var attn = new Attention(query_dim: 12, cross_attention_dim: 10, heads: 2, dim_head: 4);
        var x = torch.randn([2, 5, 12]);
        var context = torch.randn([2, 7, 10]);
        var baseline = attn.forward(x, context);

        var c = torch.randn([8]);
        using var adapter = new ConstantAdapter("to_v", c);
        attn.SetAdapter(adapter);
        Assert.Same(adapter, attn.processor);
        var shifted = attn.forward(x, context);

        // Softmax rows sum to one, so v + c gives every head output + c, and to_out adds W·c.
        var expected = baseline + torch.nn.functional.linear(c, ((Linear)attn.to_out[0]).weight);
        Parity.AssertClose(expected, shifted, "attention with to_v + c", rel: 1e-5, abs: 1e-6);
        Assert.True(MaxDiff(baseline, shifted) > 1e-3, "the delta must change the output");

        // Every projection went through the seam, with its own input.
        Assert.Equal(["to_q", "to_k", "to_v", "to_out"], adapter.Calls.Select(c => c.Name));
        Assert.Equal(new long[] { 2, 5, 12 }, adapter.Calls[0].InputShape);
        Assert.Equal(new long[] { 2, 7, 10 }, adapter.Calls[1].InputShape);
        Assert.Equal(new long[] { 2, 7, 10 }, adapter.Calls[2].InputShape);
        Assert.Equal(new long[] { 2, 5, 8 }, adapter.Calls[3].InputShape); // the attention output, input of to_out.0
    }

    [Fact]
    public void An_adapter_returning_null_changes_nothing_bit_for_bit()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(2);
        // Spatial attention as in the VAE: group norm, residual connection, rescale.
        using var attn = new Attention(query_dim: 8, heads: 1, dim_head: 8, bias: true, residual_connection: true,
            rescale_output_factor: 2.0, norm_num_groups: 4, eps: 1e-6);
        var x = torch.randn([1, 8, 3, 4]);
        var before = attn.forward(x);
        using var adapter = new NullAdapter();
        attn.SetAdapter(adapter);
        var after = attn.forward(x);
        Assert.Equal(0.0, MaxDiff(before, after));
        Assert.Equal(x.shape, after.shape);
    }

    [Fact]
    public void Adapter_parameters_are_named_under_processor_and_replaced_cleanly()
    {
        var config = ConfigJson.LoadComponent<UNet2DConditionModelConfig>(Path.Combine(FixturePaths.SdxlTiny, "unet"));
        using var unet = new UNet2DConditionModel(config);
        var baseKeys = unet.state_dict().Keys.ToHashSet();
        const string path = "down_blocks.1.attentions.0.transformer_blocks.0.attn1";
        var attn = unet.attention_layers().Single(a => a.name == path).attention;

        using var first = new LoraAdapter(attn, 2);
        attn.SetAdapter(first);
        var added = unet.state_dict().Keys.Where(k => !baseKeys.Contains(k)).Order(StringComparer.Ordinal).ToList();
        Assert.Contains($"{path}.processor.to_q_lora.q_layer.weight", added);
        Assert.Contains($"{path}.processor.to_out_lora.p_layer.weight", added);
        Assert.Equal(8, added.Count);

        using var second = new NullAdapter();
        attn.SetAdapter(second);
        Assert.Equal(baseKeys.Order(StringComparer.Ordinal), unet.state_dict().Keys.Order(StringComparer.Ordinal));
        Assert.Contains(unet.named_modules(), m => m.name == $"{path}.processor");
        attn.SetAdapter(null);
        Assert.Null(attn.processor);
        Assert.DoesNotContain(unet.named_modules(), m => m.name == $"{path}.processor");
        Assert.Equal(2 * unet.named_modules().Count(m => m.module is BasicTransformerBlock), unet.attention_layers().Count());
    }
}
