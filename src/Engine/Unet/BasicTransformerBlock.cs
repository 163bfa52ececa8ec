using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Unet;

/// <summary>
/// diffusers' <c>BasicTransformerBlock</c> with <c>norm_type="layer_norm"</c> (pre-norm, residual after each part):
/// x += attn1(norm1(x)) (self-attention; cross-attention when only_cross_attention), x += attn2(norm2(x), context)
/// (cross-attention), x += ff(norm3(x)).
/// </summary>
public sealed class BasicTransformerBlock : Module, ICheckpointable
{
    public readonly LayerNorm norm1;
    public readonly Attention attn1;
    public readonly LayerNorm? norm2;
    public readonly Attention? attn2;
    public readonly LayerNorm norm3;
    public readonly FeedForward ff;

    /// <param name="dim">Token width.</param>
    /// <param name="num_attention_heads">Heads of both attentions.</param>
    /// <param name="attention_head_dim">Channels per head.</param>
    /// <param name="dropout">Dropout in attentions and feed-forward.</param>
    /// <param name="cross_attention_dim">Width of the context (encoder hidden states); null: attn2 attends to x itself.</param>
    /// <param name="activation_fn">Feed-forward activation.</param>
    /// <param name="attention_bias">Whether to_q/to_k/to_v have biases.</param>
    /// <param name="only_cross_attention">attn1 attends to the context too.</param>
    /// <param name="double_self_attention">attn2 is a second self-attention.</param>
    /// <param name="norm_elementwise_affine">Whether the layer norms have weights.</param>
    /// <param name="norm_eps">Epsilon of the layer norms.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public BasicTransformerBlock(long dim, long num_attention_heads, long attention_head_dim, double dropout = 0.0,
        long? cross_attention_dim = null, string activation_fn = "geglu", bool attention_bias = false, bool only_cross_attention = false,
        bool double_self_attention = false, bool norm_elementwise_affine = true, double norm_eps = 1e-5,
        ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(BasicTransformerBlock))
    {
        this.only_cross_attention = only_cross_attention;
        norm1 = LayerNorm(dim, norm_eps, norm_elementwise_affine, true, device: device, dtype: dtype);
        attn1 = new Attention(dim, only_cross_attention ? cross_attention_dim : null, num_attention_heads, attention_head_dim, dropout,
            attention_bias, device: device, dtype: dtype);
        if (cross_attention_dim is not null || double_self_attention)
        {
            norm2 = LayerNorm(dim, norm_eps, norm_elementwise_affine, true, device: device, dtype: dtype);
            attn2 = new Attention(dim, double_self_attention ? null : cross_attention_dim, num_attention_heads, attention_head_dim,
                dropout, attention_bias, device: device, dtype: dtype);
        }
        norm3 = LayerNorm(dim, norm_eps, norm_elementwise_affine, true, device: device, dtype: dtype);
        ff = new FeedForward(dim, dropout: dropout, activation_fn: activation_fn, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>Whether attn1 attends to the context.</summary>
    public bool only_cross_attention { get; }

    /// <summary>Recompute this block in backward instead of keeping its activations (<see cref="GradientCheckpoint"/>).</summary>
    public bool gradient_checkpointing { get; set; }

    /// <summary>Applies the block to <paramref name="hidden_states"/> (B, N, dim) with context
    /// <paramref name="encoder_hidden_states"/> (B, M, cross_attention_dim).</summary>
    public Tensor forward(Tensor hidden_states, Tensor? encoder_hidden_states) =>
        GradientCheckpoint.Active(gradient_checkpointing)
            ? GradientCheckpoint.Run(this, i => [Compute(i[0]!, i[1])], hidden_states, encoder_hidden_states)[0]
            : Compute(hidden_states, encoder_hidden_states);

    private Tensor Compute(Tensor hidden_states, Tensor? encoder_hidden_states)
    {
        using var scope = torch.NewDisposeScope();
        var x = attn1.forward(norm1.call(hidden_states), only_cross_attention ? encoder_hidden_states : null).Plus(hidden_states);
        if (attn2 is not null) x = attn2.forward(norm2!.call(x), encoder_hidden_states).Plus(x);
        x = ff.call(norm3.call(x)).Plus(x);
        return x.MoveToOuterDisposeScope();
    }
}
