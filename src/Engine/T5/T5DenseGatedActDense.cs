using TLoRA.Engine.Clip;
using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.T5;

/// <summary>transformers' T5DenseGatedActDense (T5 v1.1, FLUX's text_encoder_2): wo(dropout(act(wi_0(x)) · wi_1(x))),
/// all bias-free; act is the config's dense_act_fn ("gelu_new", the tanh approximation, for "gated-gelu").</summary>
public sealed class T5DenseGatedActDense : Module<Tensor, Tensor>
{
    public readonly Linear wi_0;
    public readonly Linear wi_1;
    public readonly Linear wo;
    public readonly Dropout dropout;

    public T5DenseGatedActDense(T5Config config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(T5DenseGatedActDense))
    {
        ArgumentNullException.ThrowIfNull(config);
        CLIPMLP.CheckActivation(config.DenseActFn);
        act = config.DenseActFn;
        wi_0 = Linear(config.DModel, config.DFf, hasBias: false, device: device, dtype: dtype);
        wi_1 = Linear(config.DModel, config.DFf, hasBias: false, device: device, dtype: dtype);
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
        var gated = CLIPMLP.Activate(wi_0.call(hidden_states), act) * wi_1.call(hidden_states);
        var h = dropout.call(gated);
        if (h.dtype != wo.weight.dtype) h = h.to(wo.weight.dtype);
        return wo.call(h).MoveToOuterDisposeScope();
    }
}
