using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.T5;

/// <summary>
/// transformers' T5Attention as the encoder runs it: bias-free q/k/v/o projections, scores q·kᵀ with NO 1/√d scaling,
/// plus a position bias, softmax, ·v — through libtorch's fused scaled_dot_product_attention (the bias as its additive
/// mask; its kernels accumulate half-precision inputs in float32, as transformers' float32 softmax does). Only the first block owns
/// <see cref="relative_attention_bias"/> (num_buckets × num_heads); it computes the bias from bidirectional relative
/// position buckets and every later block reuses that same tensor.
/// </summary>
public sealed class T5Attention : Module
{
    public readonly Linear q;
    public readonly Linear k;
    public readonly Linear v;
    public readonly Linear o;
    /// <summary>The learned bias per (bucket, head); null in every block but the first.</summary>
    public readonly Embedding? relative_attention_bias;

    public T5Attention(T5Config config, bool has_relative_attention_bias, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(T5Attention))
    {
        ArgumentNullException.ThrowIfNull(config);
        n_heads = config.NumHeads;
        key_value_proj_dim = config.DKv;
        inner_dim = config.InnerDim;
        relative_attention_num_buckets = config.RelativeAttentionNumBuckets;
        relative_attention_max_distance = config.RelativeAttentionMaxDistance;
        dropout = config.DropoutRate;
        q = Linear(config.DModel, inner_dim, hasBias: false, device: device, dtype: dtype);
        k = Linear(config.DModel, inner_dim, hasBias: false, device: device, dtype: dtype);
        v = Linear(config.DModel, inner_dim, hasBias: false, device: device, dtype: dtype);
        o = Linear(inner_dim, config.DModel, hasBias: false, device: device, dtype: dtype);
        if (has_relative_attention_bias) relative_attention_bias = Embedding(relative_attention_num_buckets, n_heads, device: device, dtype: dtype);
        RegisterComponents();
    }

    public int n_heads { get; }
    public int key_value_proj_dim { get; }
    public int inner_dim { get; }
    public int relative_attention_num_buckets { get; }
    public int relative_attention_max_distance { get; }
    /// <summary>Dropout on the attention weights, applied in training mode only (config.dropout_rate).</summary>
    public double dropout { get; }
    public bool has_relative_attention_bias => relative_attention_bias is not null;

    /// <summary>
    /// transformers' T5Attention._relative_position_bucket: relative positions (memory − query, int64) → bucket ids
    /// (int64, same shape). Bidirectional: half the buckets for positive offsets. Within each half, offsets below
    /// num_buckets/4 get a bucket each; larger ones share logarithmically wider buckets up to max_distance, beyond which
    /// all fall in the last. The logarithm is computed in float32 as PyTorch does, then truncated.
    /// </summary>
    public static Tensor RelativePositionBucket(Tensor relative_position, bool bidirectional = true, int num_buckets = 32, int max_distance = 128)
    {
        ArgumentNullException.ThrowIfNull(relative_position);
        using var scope = torch.NewDisposeScope();
        var position = relative_position.to(ScalarType.Int64);
        Tensor? positive = null;
        if (bidirectional)
        {
            num_buckets /= 2;
            positive = position.gt(Sc(0L));
            position = position.abs();
        }
        else
        {
            position = -position.minimum(torch.zeros_like(position));
        }
        long max_exact = num_buckets / 2;
        var is_small = position.lt(Sc(max_exact));
        var scaled = (position.to(ScalarType.Float32) / Sc((double)max_exact)).log()
                     / Sc(Math.Log(max_distance / (double)max_exact)) * Sc((double)(num_buckets - max_exact));
        var if_large = scaled.to(ScalarType.Int64).Plus(Sc(max_exact));
        if_large = if_large.minimum(torch.full([], Sc(num_buckets - 1), ScalarType.Int64, position.device));
        var buckets = torch.where(is_small, position, if_large);
        // + num_buckets for positive offsets (a where, not an int tensor sum: the binding's add passes a float alpha).
        if (positive is not null) buckets = torch.where(positive, buckets.Plus(Sc((long)num_buckets)), buckets);
        return buckets.MoveToOuterDisposeScope();
    }

    /// <summary>transformers' compute_bias: the position bias [1, n_heads, query_length, key_length] of this block's
    /// relative_attention_bias over bidirectional buckets of (key position − query position).</summary>
    public Tensor compute_bias(long query_length, long key_length, Device? device = null)
    {
        if (relative_attention_bias is null) throw new InvalidOperationException("only the first block's attention has a relative_attention_bias");
        using var scope = torch.NewDisposeScope();
        device ??= relative_attention_bias.weight!.device;
        var relative = new long[query_length * key_length]; // memory position − context position
        for (long i = 0; i < query_length; i++)
            for (long j = 0; j < key_length; j++) relative[i * key_length + j] = j - i;
        var relative_position = torch.tensor(relative, query_length, key_length).to(device);
        var buckets = RelativePositionBucket(relative_position, bidirectional: true, relative_attention_num_buckets, relative_attention_max_distance);
        var values = relative_attention_bias.call(buckets);
        return values.permute(2, 0, 1).unsqueeze(0).MoveToOuterDisposeScope();
    }

    /// <summary>hidden_states [batch, seq, d_model] → output [batch, seq, d_model] and the position bias used
    /// [1, n_heads, seq, seq]: <paramref name="position_bias"/> itself when given (a new handle on it), else this
    /// block's computed bias (zeros without a relative_attention_bias). Both are the caller's to dispose.</summary>
    public (Tensor output, Tensor position_bias) forward(Tensor hidden_states, Tensor? position_bias = null)
    {
        ArgumentNullException.ThrowIfNull(hidden_states);
        using var scope = torch.NewDisposeScope();
        long batch = hidden_states.size(0), seq = hidden_states.size(1);
        var query = Heads(q.call(hidden_states), batch);
        var key = Heads(k.call(hidden_states), batch);
        var value = Heads(v.call(hidden_states), batch);
        var bias = position_bias?.alias() ?? (has_relative_attention_bias
            ? compute_bias(seq, key.size(2), query.device)
            : torch.zeros([1, n_heads, seq, key.size(2)], query.dtype, query.device));
        // T5 does not scale q·kᵀ; the fused kernel divides by √d_kv, so q is multiplied by √d_kv first (exact when d_kv
        // is a power of 4, as T5's 64 is).
        var scaled = query * Sc(Math.Sqrt(key_value_proj_dim));
        var attended = Common.ScaledDotProductAttention.Apply(scaled, key, value, bias: bias.dtype == query.dtype ? bias : bias.to(query.dtype),
                dropout: training ? dropout : 0)
            .transpose(1, 2).contiguous().view(batch, -1, inner_dim);
        var output = o.call(attended);
        return (output.MoveToOuterDisposeScope(), bias.MoveToOuterDisposeScope());
    }

    /// <summary>[batch, seq, inner] → [batch, heads, seq, d_kv].</summary>
    private Tensor Heads(Tensor x, long batch) => x.view(batch, -1, n_heads, key_value_proj_dim).transpose(1, 2);
}
