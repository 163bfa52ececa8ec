using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Flux;

/// <summary>
/// diffusers' <c>AdaLayerNormZeroSingle</c> (FLUX's single-stream blocks): <c>linear</c>(silu(emb)) gives shift, scale
/// and gate; the input is layer-normed (no affine, eps 1e-6) and modulated with the shift and scale.
/// </summary>
public sealed class AdaLayerNormZeroSingle : Module
{
    public readonly Linear linear;
    public readonly LayerNorm norm;

    /// <param name="embedding_dim">Width of the input and of the conditioning embedding.</param>
    /// <param name="bias">Whether <see cref="linear"/> has a bias.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public AdaLayerNormZeroSingle(long embedding_dim, bool bias = true, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(AdaLayerNormZeroSingle))
    {
        linear = Linear(embedding_dim, 3 * embedding_dim, bias, device: device, dtype: dtype);
        norm = LayerNorm(embedding_dim, 1e-6, elementwise_affine: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>Modulates <paramref name="x"/> (B, N, D) by <paramref name="emb"/> (B, D); returns it with the (B, D) gate,
    /// both in the caller's scope.</summary>
    public (Tensor x, Tensor gate) forward(Tensor x, Tensor emb)
    {
        using var scope = torch.NewDisposeScope();
        var e = linear.call(functional.silu(emb)).chunk(3, 1);
        var h = (norm.call(x) * e[1].unsqueeze(1).Plus(Sc(1.0))).Plus(e[0].unsqueeze(1));
        return (h.MoveToOuterDisposeScope(), e[2].MoveToOuterDisposeScope());
    }
}
