using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Clip;

/// <summary>
/// transformers' CLIPAttention as the text tower runs it: multi-head self-attention with q_proj/k_proj/v_proj/out_proj
/// (all with bias), scale head_dim^-0.5 and a causal mask (position i attends to positions ≤ i). No padding mask:
/// SD-XL and FLUX call the CLIP text encoders without an attention mask.
/// </summary>
public sealed class CLIPAttention : Module<Tensor, Tensor>
{
    public readonly Linear k_proj;
    public readonly Linear v_proj;
    public readonly Linear q_proj;
    public readonly Linear out_proj;

    public CLIPAttention(CLIPTextConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(CLIPAttention))
    {
        ArgumentNullException.ThrowIfNull(config);
        num_heads = config.NumAttentionHeads;
        head_dim = config.HeadDim;
        if (head_dim * num_heads != config.HiddenSize)
            throw new ArgumentException($"hidden_size {config.HiddenSize} is not divisible by num_attention_heads {num_heads}", nameof(config));
        scale = Math.Pow(head_dim, -0.5);
        dropout = config.AttentionDropout;
        k_proj = Linear(config.HiddenSize, config.HiddenSize, true, device: device, dtype: dtype);
        v_proj = Linear(config.HiddenSize, config.HiddenSize, true, device: device, dtype: dtype);
        q_proj = Linear(config.HiddenSize, config.HiddenSize, true, device: device, dtype: dtype);
        out_proj = Linear(config.HiddenSize, config.HiddenSize, true, device: device, dtype: dtype);
        RegisterComponents();
    }

    public int num_heads { get; }
    public int head_dim { get; }
    public double scale { get; }

    /// <summary>Dropout on the attention weights, applied in training mode only (config.attention_dropout).</summary>
    public double dropout { get; }

    /// <summary>hidden_states [batch, seq, hidden] → [batch, seq, hidden].</summary>
    public override Tensor forward(Tensor hidden_states)
    {
        ArgumentNullException.ThrowIfNull(hidden_states);
        using var scope = torch.NewDisposeScope();
        var shape = hidden_states.shape;
        long batch = shape[0], seq = shape[1];
        var q = Heads(q_proj.call(hidden_states), batch, seq);
        var k = Heads(k_proj.call(hidden_states), batch, seq);
        var v = Heads(v_proj.call(hidden_states), batch, seq);
        var attended = Common.ScaledDotProductAttention.Apply(q, k, v, causal: true, dropout: training ? dropout : 0);
        var merged = attended.transpose(1, 2).reshape(batch, seq, num_heads * head_dim);
        return out_proj.call(merged).MoveToOuterDisposeScope();
    }

    /// <summary>[batch, seq, heads·head_dim] → [batch, heads, seq, head_dim].</summary>
    private Tensor Heads(Tensor x, long batch, long seq) => x.view(batch, seq, num_heads, head_dim).transpose(1, 2);
}
