using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using Activations = TLoRA.Engine.Common.Activations;

namespace TLoRA.Engine.Unet;

/// <summary>diffusers' <c>TimestepEmbedding</c>: linear_1 → act → linear_2 (→ optional post activation). Used for the
/// time embedding and, in SD-XL, for <c>add_embedding</c> over [text_embeds, time_ids embedding].</summary>
public sealed class TimestepEmbedding : Module<Tensor, Tensor>
{
    public readonly Linear linear_1;
    public readonly Linear linear_2;

    /// <param name="in_channels">Input width.</param>
    /// <param name="time_embed_dim">Hidden and output width (unless out_dim is given).</param>
    /// <param name="act_fn">Activation between the layers.</param>
    /// <param name="out_dim">Output width (default: time_embed_dim).</param>
    /// <param name="post_act_fn">Activation after linear_2, or null.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public TimestepEmbedding(long in_channels, long time_embed_dim, string act_fn = "silu", long? out_dim = null,
        string? post_act_fn = null, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(TimestepEmbedding))
    {
        this.act_fn = Activations.Check(act_fn);
        this.post_act_fn = post_act_fn is null ? null : Activations.Check(post_act_fn);
        linear_1 = Linear(in_channels, time_embed_dim, true, device: device, dtype: dtype);
        linear_2 = Linear(time_embed_dim, out_dim ?? time_embed_dim, true, device: device, dtype: dtype);
        RegisterComponents();
    }

    public string act_fn { get; }
    public string? post_act_fn { get; }

    /// <summary>Embeds <paramref name="sample"/> (B, in_channels).</summary>
    public override Tensor forward(Tensor sample)
    {
        using var scope = torch.NewDisposeScope();
        var h = linear_2.call(Activations.Apply(act_fn, linear_1.call(sample)));
        if (post_act_fn is not null) h = Activations.Apply(post_act_fn, h);
        return h.MoveToOuterDisposeScope();
    }
}
