using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using Activations = TLoRA.Engine.Common.Activations;

namespace TLoRA.Engine.Flux;

/// <summary>diffusers' <c>PixArtAlphaTextProjection</c>: linear_1 → act → linear_2 (FLUX's text_embedder of the pooled
/// CLIP output, with silu).</summary>
public sealed class PixArtAlphaTextProjection : Module<Tensor, Tensor>
{
    public readonly Linear linear_1;
    public readonly Linear linear_2;

    /// <param name="in_features">Input width.</param>
    /// <param name="hidden_size">Hidden width (and output width unless out_features is given).</param>
    /// <param name="out_features">Output width.</param>
    /// <param name="act_fn">"silu" (FLUX) or "gelu_tanh" (diffusers' default).</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public PixArtAlphaTextProjection(long in_features, long hidden_size, long? out_features = null, string act_fn = "gelu_tanh",
        ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(PixArtAlphaTextProjection))
    {
        this.act_fn = act_fn is "gelu_tanh" ? act_fn : Activations.Check(act_fn);
        linear_1 = Linear(in_features, hidden_size, true, device: device, dtype: dtype);
        linear_2 = Linear(hidden_size, out_features ?? hidden_size, true, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>The activation between the layers.</summary>
    public string act_fn { get; }

    /// <summary>Projects <paramref name="caption"/> (B, in_features).</summary>
    public override Tensor forward(Tensor caption)
    {
        using var scope = torch.NewDisposeScope();
        var h = linear_1.call(caption);
        h = act_fn == "gelu_tanh" ? Activations.Gelu(h, "tanh") : Activations.Apply(act_fn, h);
        return linear_2.call(h).MoveToOuterDisposeScope();
    }
}
