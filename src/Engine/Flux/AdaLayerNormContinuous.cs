using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Flux;

/// <summary>
/// diffusers' <c>AdaLayerNormContinuous</c> with a layer norm (FLUX's <c>norm_out</c>): <c>linear</c>(silu(c)) split
/// into scale and shift (in that order), then norm(x) · (1 + scale) + shift.
/// </summary>
public sealed class AdaLayerNormContinuous : Module
{
    public readonly Linear linear;
    public readonly LayerNorm norm;

    /// <param name="embedding_dim">Width of the input.</param>
    /// <param name="conditioning_embedding_dim">Width of the conditioning embedding.</param>
    /// <param name="elementwise_affine">Whether the layer norm has a weight (and bias).</param>
    /// <param name="eps">Epsilon of the layer norm.</param>
    /// <param name="bias">Whether <see cref="linear"/> (and an affine norm) has a bias.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public AdaLayerNormContinuous(long embedding_dim, long conditioning_embedding_dim, bool elementwise_affine = true, double eps = 1e-5,
        bool bias = true, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(AdaLayerNormContinuous))
    {
        linear = Linear(conditioning_embedding_dim, embedding_dim * 2, bias, device: device, dtype: dtype);
        norm = LayerNorm(embedding_dim, eps, elementwise_affine, bias, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>Modulates <paramref name="x"/> (B, N, D) by <paramref name="conditioning_embedding"/> (B, C).</summary>
    public Tensor forward(Tensor x, Tensor conditioning_embedding)
    {
        using var scope = torch.NewDisposeScope();
        var e = linear.call(functional.silu(conditioning_embedding).to(x.dtype)).chunk(2, 1);
        var (scale, shift) = (e[0], e[1]);
        return ((norm.call(x) * scale.Plus(Sc(1.0)).unsqueeze(1)).Plus(shift.unsqueeze(1))).MoveToOuterDisposeScope();
    }
}
