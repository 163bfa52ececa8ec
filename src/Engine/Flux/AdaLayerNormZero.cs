using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Flux;

/// <summary>
/// diffusers' <c>AdaLayerNormZero</c> as FLUX's double-stream blocks use it (no class embedding): <c>linear</c>(silu(emb))
/// gives shift, scale and gate for the attention and for the feed-forward; the input is layer-normed (no affine,
/// eps 1e-6) and modulated with the attention's shift and scale.
/// </summary>
public sealed class AdaLayerNormZero : Module
{
    public readonly Linear linear;
    public readonly LayerNorm norm;

    /// <param name="embedding_dim">Width of the input and of the conditioning embedding.</param>
    /// <param name="bias">Whether <see cref="linear"/> has a bias.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public AdaLayerNormZero(long embedding_dim, bool bias = true, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(AdaLayerNormZero))
    {
        linear = Linear(embedding_dim, 6 * embedding_dim, bias, device: device, dtype: dtype);
        norm = LayerNorm(embedding_dim, 1e-6, elementwise_affine: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>Modulates <paramref name="x"/> (B, N, D) by <paramref name="emb"/> (B, D). Returns the modulated input
    /// and the (B, D) gate of the attention, shift, scale and gate of the feed-forward, all in the caller's scope.</summary>
    public (Tensor x, Tensor gate_msa, Tensor shift_mlp, Tensor scale_mlp, Tensor gate_mlp) forward(Tensor x, Tensor emb)
    {
        using var scope = torch.NewDisposeScope();
        var e = linear.call(functional.silu(emb)).chunk(6, 1);
        var (shiftMsa, scaleMsa) = (e[0], e[1]);
        var h = (norm.call(x) * scaleMsa.unsqueeze(1).Plus(Sc(1.0))).Plus(shiftMsa.unsqueeze(1));
        return (h.MoveToOuterDisposeScope(), e[2].MoveToOuterDisposeScope(), e[3].MoveToOuterDisposeScope(),
            e[4].MoveToOuterDisposeScope(), e[5].MoveToOuterDisposeScope());
    }
}
