using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.T5;

/// <summary>transformers' T5LayerFF, pre-norm: x + dropout(DenseReluDense(layer_norm(x))). DenseReluDense (the
/// checkpoint's name whatever the activation) is a <see cref="T5DenseGatedActDense"/> for "gated-…" feed_forward_proj,
/// a <see cref="T5DenseActDense"/> otherwise.</summary>
public sealed class T5LayerFF : Module<Tensor, Tensor>
{
    public readonly Module<Tensor, Tensor> DenseReluDense;
    public readonly T5LayerNorm layer_norm;
    public readonly Dropout dropout;

    public T5LayerFF(T5Config config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(T5LayerFF))
    {
        ArgumentNullException.ThrowIfNull(config);
        DenseReluDense = config.IsGatedAct
            ? new T5DenseGatedActDense(config, device: device, dtype: dtype)
            : new T5DenseActDense(config, device: device, dtype: dtype);
        layer_norm = new T5LayerNorm(config.DModel, config.LayerNormEpsilon, device: device, dtype: dtype);
        dropout = Dropout(config.DropoutRate);
        RegisterComponents();
    }

    /// <summary>hidden_states [batch, seq, d_model] → same shape.</summary>
    public override Tensor forward(Tensor hidden_states)
    {
        ArgumentNullException.ThrowIfNull(hidden_states);
        using var scope = torch.NewDisposeScope();
        var output = hidden_states.Plus(dropout.call(DenseReluDense.call(layer_norm.call(hidden_states))));
        return output.MoveToOuterDisposeScope();
    }
}
