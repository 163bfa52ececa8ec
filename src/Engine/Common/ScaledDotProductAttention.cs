using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Common;

/// <summary>
/// softmax(q·kᵀ/√d [+ causal mask])·v over (B, heads, N, d) with libtorch's fused kernel (flash attention on CPU and
/// CUDA, memory-efficient attention where flash does not apply): the one place every attention of the engine goes
/// through (diffusers' AttnProcessor2_0, transformers' sdpa attention).
/// </summary>
public static class ScaledDotProductAttention
{
    /// <summary>The attention; <paramref name="causal"/> masks position j &gt; i; <paramref name="bias"/> is added to
    /// the scaled scores before the softmax (broadcast to (B, heads, N, M), e.g. T5's relative position bias);
    /// <paramref name="dropout"/> drops attention weights (training only: pass 0 otherwise).</summary>
    public static Tensor Apply(Tensor query, Tensor key, Tensor value, bool causal = false, Tensor? bias = null, double dropout = 0)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        return nn.functional.scaled_dot_product_attention(query, key, value, attn_mask: bias, p: dropout, is_casual: causal);
    }
}
