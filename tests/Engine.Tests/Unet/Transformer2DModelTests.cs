using TLoRA.Engine.Unet;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Tests.Unet;

/// <summary>Transformer2DModel with 1×1-convolution projections (use_linear_projection = false, SD 1.x) against a
/// reference composed by hand from functional ops, and against the linear-projection variant with the same weights.</summary>
public sealed class Transformer2DModelTests
{
    private const long Heads = 2, HeadDim = 4, Channels = 8, Groups = 4, ContextDim = 6;

    private static Transformer2DModel Make(bool linear)
    {
        var m = new Transformer2DModel(Heads, HeadDim, Channels, num_layers: 1, norm_num_groups: Groups, cross_attention_dim: ContextDim,
            use_linear_projection: linear);
        using var noGrad = torch.no_grad();
        foreach (var (name, p) in m.named_parameters())
            if (name.Contains("norm")) p.normal_(name.EndsWith("weight", StringComparison.Ordinal) ? 1 : 0, 0.2);
        return m;
    }

    private static Tensor Attend(Tensor queries, Tensor source, TLoRA.Engine.Common.Attention attn)
    {
        Tensor Split(Tensor t) => t.reshape(t.size(0), t.size(1), Heads, HeadDim).permute(0, 2, 1, 3);
        var q = Split(functional.linear(queries, attn.to_q.weight));
        var k = Split(functional.linear(source, attn.to_k.weight));
        var v = Split(functional.linear(source, attn.to_v.weight));
        var weights = functional.softmax(q.matmul(k.transpose(-1, -2)) / Math.Sqrt(HeadDim), -1);
        var o = weights.matmul(v).permute(0, 2, 1, 3).reshape(queries.size(0), queries.size(1), Heads * HeadDim);
        var output = (Linear)attn.to_out[0];
        return functional.linear(o, output.weight, output.bias);
    }

    private static Tensor Reference(Transformer2DModel m, Tensor x, Tensor context)
    {
        long b = x.size(0), h = x.size(2), w = x.size(3), inner = Heads * HeadDim;
        var proj_in = (Conv2d)m.proj_in;
        var proj_out = (Conv2d)m.proj_out;
        var t = functional.group_norm(x, Groups, m.norm.weight, m.norm.bias, 1e-6);
        t = functional.conv2d(t, proj_in.weight, proj_in.bias).permute(0, 2, 3, 1).reshape(b, h * w, inner);
        var block = m.transformer_blocks[0];
        Tensor Norm(LayerNorm n, Tensor v) => functional.layer_norm(v, [inner], n.weight, n.bias, 1e-5);
        var n1 = Norm(block.norm1, t);
        t = t + Attend(n1, n1, block.attn1);
        t = t + Attend(Norm(block.norm2!, t), context, block.attn2!);
        var geglu = (GEGLU)block.ff.net[0];
        var halves = functional.linear(Norm(block.norm3, t), geglu.proj.weight, geglu.proj.bias).chunk(2, -1);
        var last = (Linear)block.ff.net[2];
        t = t + functional.linear(halves[0] * functional.gelu(halves[1]), last.weight, last.bias);
        t = t.reshape(b, h, w, inner).permute(0, 3, 1, 2);
        return functional.conv2d(t, proj_out.weight, proj_out.bias) + x;
    }

    [Fact]
    public void Conv_projection_matches_a_hand_composed_reference()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        using var m = Make(linear: false);
        Assert.IsType<Conv2d>(m.proj_in);
        Assert.Equal([Heads * HeadDim, Channels, 1, 1], ((Conv2d)m.proj_in).weight.shape);
        var x = torch.randn([2, Channels, 3, 5]);
        var context = torch.randn([2, 7, ContextDim]);
        Parity.AssertClose(Reference(m, x, context), m.forward(x, context), "Transformer2DModel (conv proj)", rel: 1e-5, abs: 1e-6);
    }

    [Fact]
    public void Conv_and_linear_projections_agree_with_the_same_weights()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(4);
        using var conv = Make(linear: false);
        using var linear = Make(linear: true);
        var weights = conv.state_dict().ToDictionary(kv => kv.Key,
            kv => kv.Key.StartsWith("proj_", StringComparison.Ordinal) && kv.Value.dim() == 4 ? kv.Value.flatten(1) : kv.Value);
        linear.load_state_dict(weights);
        var x = torch.randn([1, Channels, 4, 4]);
        var context = torch.randn([1, 5, ContextDim]);
        Parity.AssertClose(conv.forward(x, context), linear.forward(x, context), "linear vs conv projections", rel: 1e-5, abs: 1e-6);
    }
}
