using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using Activations = TLoRA.Engine.Common.Activations;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Flux;

/// <summary>
/// diffusers' <c>FluxSingleTransformerBlock</c>, FLUX's single-stream block over the concatenated text + image tokens:
/// <see cref="AdaLayerNormZeroSingle"/> modulation, then in parallel a pre-only attention (<see cref="FluxAttention"/>
/// without output projection) and an MLP (proj_mlp, gelu tanh); both are concatenated on channels, projected by
/// proj_out, gated and added to the input.
/// </summary>
public sealed class FluxSingleTransformerBlock : Module, ICheckpointable
{
    public readonly AdaLayerNormZeroSingle norm;
    public readonly Linear proj_mlp;
    public readonly Linear proj_out;
    public readonly FluxAttention attn;

    /// <param name="dim">Model width.</param>
    /// <param name="num_attention_heads">Number of heads.</param>
    /// <param name="attention_head_dim">Channels per head.</param>
    /// <param name="mlp_ratio">MLP width = dim · mlp_ratio.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public FluxSingleTransformerBlock(long dim, long num_attention_heads, long attention_head_dim, double mlp_ratio = 4.0,
        ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(FluxSingleTransformerBlock))
    {
        mlp_hidden_dim = (long)(dim * mlp_ratio);
        norm = new AdaLayerNormZeroSingle(dim, device: device, dtype: dtype);
        proj_mlp = Linear(dim, mlp_hidden_dim, true, device: device, dtype: dtype);
        proj_out = Linear(dim + mlp_hidden_dim, dim, true, device: device, dtype: dtype);
        attn = new FluxAttention(dim, num_attention_heads, attention_head_dim, added_kv_proj_dim: null, pre_only: true, 1e-6, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>Width of the MLP branch.</summary>
    public long mlp_hidden_dim { get; }

    /// <summary>Recompute this block in backward instead of keeping its activations (<see cref="GradientCheckpoint"/>).</summary>
    public bool gradient_checkpointing { get; set; }

    /// <summary>Updates <paramref name="hidden_states"/> (B, T + N, D) under the conditioning <paramref name="temb"/> (B, D),
    /// with rotary embeddings over the T + N tokens.</summary>
    public Tensor forward(Tensor hidden_states, Tensor temb, (Tensor cos, Tensor sin)? image_rotary_emb) =>
        GradientCheckpoint.Active(gradient_checkpointing)
            ? GradientCheckpoint.Run(this, i => [Compute(i[0]!, i[1]!, i[2] is null ? null : (i[2]!, i[3]!))], hidden_states, temb,
                image_rotary_emb?.cos, image_rotary_emb?.sin)[0]
            : Compute(hidden_states, temb, image_rotary_emb);

    private Tensor Compute(Tensor hidden_states, Tensor temb, (Tensor cos, Tensor sin)? image_rotary_emb)
    {
        using var scope = torch.NewDisposeScope();
        var (normHidden, gate) = norm.forward(hidden_states, temb);
        var mlp = Activations.Gelu(proj_mlp.call(normHidden), "tanh");
        var (attnOutput, _) = attn.forward(normHidden, null, image_rotary_emb);
        var h = torch.cat([attnOutput, mlp], 2);
        h = hidden_states.Plus(gate.unsqueeze(1) * proj_out.call(h));
        if (h.dtype == ScalarType.Float16) h = h.clamp(Sc(-65504.0), Sc(65504.0));
        return h.MoveToOuterDisposeScope();
    }
}
