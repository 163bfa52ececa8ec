using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.T5;

/// <summary>
/// transformers' T5LayerNorm: RMS norm without mean subtraction or bias. The variance is computed in float32 whatever
/// the input dtype; x·rsqrt(variance + eps) is cast back to the weight's dtype when that is float16/bfloat16, then
/// multiplied by the weight.
/// </summary>
public sealed class T5LayerNorm : Module<Tensor, Tensor>
{
    [ComponentName(Name = nameof(weight))]
    private Parameter _weight;

    public T5LayerNorm(long hidden_size, double eps = 1e-6, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(T5LayerNorm))
    {
        _weight = new Parameter(torch.ones([hidden_size], device: device, dtype: dtype));
        variance_epsilon = eps;
        RegisterComponents();
    }

    /// <summary>The scale. Settable so that a checkpoint's tensor can take the place of a meta-device one
    /// (<see cref="IO.ParameterSlots"/>); the old tensor is disposed.</summary>
    public Parameter weight
    {
        get => _weight;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (ReferenceEquals(value, _weight)) return;
            _weight.Dispose();
            _weight = (Parameter)value.DetachFromDisposeScope();
            ConditionallyRegisterParameter(nameof(weight), _weight);
        }
    }

    /// <summary>The epsilon added to the variance.</summary>
    public double variance_epsilon { get; }

    /// <summary>hidden_states [..., hidden] → same shape.</summary>
    public override Tensor forward(Tensor hidden_states)
    {
        ArgumentNullException.ThrowIfNull(hidden_states);
        using var scope = torch.NewDisposeScope();
        var variance = hidden_states.to(ScalarType.Float32).pow(Sc(2L)).mean([-1], keepdim: true);
        var normed = hidden_states * variance.Plus(Sc(variance_epsilon)).rsqrt();
        if (weight.dtype is ScalarType.Float16 or ScalarType.BFloat16) normed = normed.to(weight.dtype);
        return (weight * normed).MoveToOuterDisposeScope();
    }
}
