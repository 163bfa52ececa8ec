using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.T5;

/// <summary>transformers' T5LayerSelfAttention, pre-norm: x + dropout(SelfAttention(layer_norm(x))).</summary>
public sealed class T5LayerSelfAttention : Module
{
    public readonly T5Attention SelfAttention;
    public readonly T5LayerNorm layer_norm;
    public readonly Dropout dropout;

    public T5LayerSelfAttention(T5Config config, bool has_relative_attention_bias, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(T5LayerSelfAttention))
    {
        ArgumentNullException.ThrowIfNull(config);
        SelfAttention = new T5Attention(config, has_relative_attention_bias, device: device, dtype: dtype);
        layer_norm = new T5LayerNorm(config.DModel, config.LayerNormEpsilon, device: device, dtype: dtype);
        dropout = Dropout(config.DropoutRate);
        RegisterComponents();
    }

    /// <summary>hidden_states [batch, seq, d_model] → the new hidden states and the position bias used (see
    /// <see cref="T5Attention.forward"/>); both are the caller's to dispose.</summary>
    public (Tensor hidden_states, Tensor position_bias) forward(Tensor hidden_states, Tensor? position_bias = null)
    {
        ArgumentNullException.ThrowIfNull(hidden_states);
        using var scope = torch.NewDisposeScope();
        var (attended, bias) = SelfAttention.forward(layer_norm.call(hidden_states), position_bias);
        var output = hidden_states.Plus(dropout.call(attended));
        return (output.MoveToOuterDisposeScope(), bias.MoveToOuterDisposeScope());
    }
}
