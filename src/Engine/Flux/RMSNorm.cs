using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Flux;

/// <summary>
/// diffusers' <c>RMSNorm</c> over the last dimension: x · rsqrt(mean(x², float32) + eps) · weight. FLUX uses it as the
/// query/key norm of every attention (per head, eps 1e-6, with a weight and no bias).
/// </summary>
public sealed class RMSNorm : Module<Tensor, Tensor>
{
    [ComponentName(Name = nameof(weight))]
    private Parameter? _weight;

    /// <param name="dim">Size of the last dimension.</param>
    /// <param name="eps">Added to the mean square.</param>
    /// <param name="elementwise_affine">Whether to scale by a learned weight.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public RMSNorm(long dim, double eps, bool elementwise_affine = true, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(RMSNorm))
    {
        this.dim = dim;
        this.eps = eps;
        if (elementwise_affine) _weight = new Parameter(torch.ones([dim], device: device, dtype: dtype));
        RegisterComponents();
    }

    /// <summary>The per-channel scale, or null without elementwise_affine. Settable so that a checkpoint's tensor can
    /// take the place of a meta-device one (<see cref="IO.ParameterSlots"/>); the old tensor is disposed.</summary>
    public Parameter? weight
    {
        get => _weight;
        set
        {
            if (ReferenceEquals(value, _weight)) return;
            _weight?.Dispose();
            _weight = (Parameter?)value?.DetachFromDisposeScope();
            ConditionallyRegisterParameter(nameof(weight), _weight);
        }
    }

    /// <summary>Size of the normalised dimension.</summary>
    public long dim { get; }
    /// <summary>Added to the mean square.</summary>
    public double eps { get; }

    /// <summary>Normalises <paramref name="hidden_states"/> (..., dim) as diffusers does, dtype for dtype: the variance
    /// in float32; a half-precision weight casts the normalised values to its dtype first.</summary>
    public override Tensor forward(Tensor hidden_states)
    {
        using var scope = torch.NewDisposeScope();
        var inputDtype = hidden_states.dtype;
        var variance = hidden_states.to(ScalarType.Float32).pow(Sc(2L)).mean([-1], keepdim: true);
        var h = hidden_states * variance.Plus(Sc(eps)).rsqrt();
        if (weight is null) return h.to(inputDtype).MoveToOuterDisposeScope();
        if (weight.dtype is ScalarType.Float16 or ScalarType.BFloat16) h = h.to(weight.dtype);
        return (h * weight).MoveToOuterDisposeScope();
    }
}
