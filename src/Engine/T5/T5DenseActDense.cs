using TLoRA.Engine.Clip;
using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.T5;

/// <summary>transformers' T5DenseActDense (original T5, feed_forward_proj "relu"): wo(dropout(act(wi(x)))), bias-free.</summary>
public sealed class T5DenseActDense : Module<Tensor, Tensor>
{
    public readonly Linear wi;
    public readonly Linear wo;
    public readonly Dropout dropout;

    public T5DenseActDense(T5Config config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(T5DenseActDense))
    {
        ArgumentNullException.ThrowIfNull(config);
        CLIPMLP.CheckActivation(config.DenseActFn);
        act = config.DenseActFn;
        wi = Linear(config.DModel, config.DFf, hasBias: false, device: device, dtype: dtype);
        wo = Linear(config.DFf, config.DModel, hasBias: false, device: device, dtype: dtype);
        dropout = Dropout(config.DropoutRate);
        RegisterComponents();
    }

    /// <summary>The activation's transformers name (ACT2FN key).</summary>
    public string act { get; }

    /// <summary>hidden_states [..., d_model] → [..., d_model].</summary>
    public override Tensor forward(Tensor hidden_states)
    {
        using var scope = torch.NewDisposeScope();
        var h = dropout.call(CLIPMLP.Activate(wi.call(hidden_states), act));
        if (h.dtype != wo.weight.dtype) h = h.to(wo.weight.dtype);
        return wo.call(h).MoveToOuterDisposeScope();
    }
}
