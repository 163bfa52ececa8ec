using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.T5;

/// <summary>transformers' T5Block as the encoder runs it: <c>layer.0</c> a <see cref="T5LayerSelfAttention"/>,
/// <c>layer.1</c> a <see cref="T5LayerFF"/>. In float16, each sub-layer's output is clamped to ±(65504 − 1000) when it
/// holds an infinity (±65504 otherwise), as transformers does.</summary>
public sealed class T5Block : Module
{
    /// <summary>[T5LayerSelfAttention, T5LayerFF], so keys read "layer.0.SelfAttention.q.weight".</summary>
    public readonly ModuleList<Module> layer;

    public T5Block(T5Config config, bool has_relative_attention_bias, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(T5Block))
    {
        ArgumentNullException.ThrowIfNull(config);
        layer = new ModuleList<Module>(new T5LayerSelfAttention(config, has_relative_attention_bias, device: device, dtype: dtype), new T5LayerFF(config, device: device, dtype: dtype));
        RegisterComponents();
    }

    /// <summary>The self-attention sub-layer (layer.0).</summary>
    public T5LayerSelfAttention self_attention => (T5LayerSelfAttention)layer[0];

    /// <summary>The feed-forward sub-layer (layer.1).</summary>
    public T5LayerFF feed_forward => (T5LayerFF)layer[1];

    /// <summary>hidden_states [batch, seq, d_model] → the block's output and the position bias used (computed here
    /// when <paramref name="position_bias"/> is null); both are the caller's to dispose.</summary>
    public (Tensor hidden_states, Tensor position_bias) forward(Tensor hidden_states, Tensor? position_bias = null)
    {
        ArgumentNullException.ThrowIfNull(hidden_states);
        using var scope = torch.NewDisposeScope();
        var (h, bias) = self_attention.forward(hidden_states, position_bias);
        h = ClampFloat16(h);
        h = ClampFloat16(feed_forward.call(h));
        return (h.MoveToOuterDisposeScope(), bias.MoveToOuterDisposeScope());
    }

    private static Tensor ClampFloat16(Tensor h)
    {
        if (h.dtype != ScalarType.Float16) return h;
        const double max = 65504;
        var limit = h.isfinite().logical_not().sum().ItemDouble() > 0 ? max - 1000 : max;
        return h.clamp(Sc(-limit), Sc(limit));
    }
}
