using TLoRA.Engine.Common;
using TLoRA.Engine.Unet;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Flux;

/// <summary>
/// diffusers' <c>FluxTransformerBlock</c>, FLUX's double-stream (MMDiT) block: image and text tokens each get their own
/// <see cref="AdaLayerNormZero"/> modulation (norm1, norm1_context), attend jointly (<see cref="FluxAttention"/> with
/// text projections), and go through their own gated feed-forward (ff, ff_context; gelu-approximate) after a plain layer
/// norm modulated by the shift and scale from norm1 / norm1_context.
/// </summary>
public sealed class FluxTransformerBlock : Module, ICheckpointable
{
    public readonly AdaLayerNormZero norm1;
    public readonly AdaLayerNormZero norm1_context;
    public readonly FluxAttention attn;
    public readonly LayerNorm norm2;
    public readonly FeedForward ff;
    public readonly LayerNorm norm2_context;
    public readonly FeedForward ff_context;

    /// <param name="dim">Model width.</param>
    /// <param name="num_attention_heads">Number of heads.</param>
    /// <param name="attention_head_dim">Channels per head.</param>
    /// <param name="eps">Epsilon of the query/key RMS norms.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public FluxTransformerBlock(long dim, long num_attention_heads, long attention_head_dim, double eps = 1e-6,
        ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(FluxTransformerBlock))
    {
        norm1 = new AdaLayerNormZero(dim, device: device, dtype: dtype);
        norm1_context = new AdaLayerNormZero(dim, device: device, dtype: dtype);
        attn = new FluxAttention(dim, num_attention_heads, attention_head_dim, added_kv_proj_dim: dim, pre_only: false, eps, device: device, dtype: dtype);
        norm2 = LayerNorm(dim, 1e-6, elementwise_affine: false, device: device, dtype: dtype);
        ff = new FeedForward(dim, dim, activation_fn: "gelu-approximate", device: device, dtype: dtype);
        norm2_context = LayerNorm(dim, 1e-6, elementwise_affine: false, device: device, dtype: dtype);
        ff_context = new FeedForward(dim, dim, activation_fn: "gelu-approximate", device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>Recompute this block in backward instead of keeping its activations (<see cref="GradientCheckpoint"/>).</summary>
    public bool gradient_checkpointing { get; set; }

    /// <summary>Updates the image tokens <paramref name="hidden_states"/> (B, N, D) and the text tokens
    /// <paramref name="encoder_hidden_states"/> (B, T, D) under the conditioning <paramref name="temb"/> (B, D), with rotary
    /// embeddings over the T + N tokens. Returns both (diffusers returns them text first).</summary>
    public (Tensor encoder_hidden_states, Tensor hidden_states) forward(Tensor hidden_states, Tensor encoder_hidden_states, Tensor temb,
        (Tensor cos, Tensor sin)? image_rotary_emb)
    {
        if (!GradientCheckpoint.Active(gradient_checkpointing)) return Compute(hidden_states, encoder_hidden_states, temb, image_rotary_emb);
        var outputs = GradientCheckpoint.Run(this, i =>
        {
            var (c, h) = Compute(i[0]!, i[1]!, i[2]!, i[3] is null ? null : (i[3]!, i[4]!));
            return [c, h];
        }, hidden_states, encoder_hidden_states, temb, image_rotary_emb?.cos, image_rotary_emb?.sin);
        return (outputs[0], outputs[1]);
    }

    private (Tensor encoder_hidden_states, Tensor hidden_states) Compute(Tensor hidden_states, Tensor encoder_hidden_states, Tensor temb,
        (Tensor cos, Tensor sin)? image_rotary_emb)
    {
        using var scope = torch.NewDisposeScope();
        var (normHidden, gateMsa, shiftMlp, scaleMlp, gateMlp) = norm1.forward(hidden_states, temb);
        var (normContext, cGateMsa, cShiftMlp, cScaleMlp, cGateMlp) = norm1_context.forward(encoder_hidden_states, temb);
        var (attnOutput, contextAttnOutput) = attn.forward(normHidden, normContext, image_rotary_emb);

        var h = hidden_states.Plus(gateMsa.unsqueeze(1) * attnOutput);
        var n = (norm2.call(h) * scaleMlp.unsqueeze(1).Plus(Sc(1.0))).Plus(shiftMlp.unsqueeze(1));
        h = h.Plus(gateMlp.unsqueeze(1) * ff.call(n));

        var c = encoder_hidden_states.Plus(cGateMsa.unsqueeze(1) * contextAttnOutput!);
        var nc = (norm2_context.call(c) * cScaleMlp.unsqueeze(1).Plus(Sc(1.0))).Plus(cShiftMlp.unsqueeze(1));
        c = c.Plus(cGateMlp.unsqueeze(1) * ff_context.call(nc));
        if (c.dtype == ScalarType.Float16) c = c.clamp(Sc(-65504.0), Sc(65504.0));
        return (c.MoveToOuterDisposeScope(), h.MoveToOuterDisposeScope());
    }
}
