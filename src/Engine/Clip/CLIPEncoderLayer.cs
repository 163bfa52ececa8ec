using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Clip;

/// <summary>transformers' CLIPEncoderLayer, pre-LN: x + self_attn(layer_norm1(x)), then h + mlp(layer_norm2(h)).</summary>
public sealed class CLIPEncoderLayer : Module<Tensor, Tensor>
{
    public readonly CLIPAttention self_attn;
    public readonly LayerNorm layer_norm1;
    public readonly CLIPMLP mlp;
    public readonly LayerNorm layer_norm2;

    public CLIPEncoderLayer(CLIPTextConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(CLIPEncoderLayer))
    {
        ArgumentNullException.ThrowIfNull(config);
        self_attn = new CLIPAttention(config, device: device, dtype: dtype);
        layer_norm1 = LayerNorm(config.HiddenSize, config.LayerNormEps, device: device, dtype: dtype);
        mlp = new CLIPMLP(config, device: device, dtype: dtype);
        layer_norm2 = LayerNorm(config.HiddenSize, config.LayerNormEps, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>hidden_states [batch, seq, hidden] → [batch, seq, hidden].</summary>
    public override Tensor forward(Tensor hidden_states)
    {
        using var scope = torch.NewDisposeScope();
        var h = hidden_states.Plus(self_attn.call(layer_norm1.call(hidden_states)));
        var output = h.Plus(mlp.call(layer_norm2.call(h)));
        return output.MoveToOuterDisposeScope();
    }
}
