using TLoRA.Engine.Adapters;
using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Flux;

/// <summary>
/// diffusers' <c>Attention</c> as FLUX builds it, with the math of <c>FluxAttnProcessor2_0</c>; named FluxAttention to
/// keep it apart from <see cref="Attention"/> (SD-XL's). Per-head RMS norms on queries and keys (norm_q, norm_k), rotary
/// embeddings on both. In the double-stream blocks (<c>added_kv_proj_dim</c> set) the text tokens get their own
/// add_q_proj/add_k_proj/add_v_proj and norm_added_q/norm_added_k, are attended jointly with the image tokens (text
/// first) and come out through to_add_out, the image tokens through to_out.0. The single-stream blocks' attention is
/// <c>pre_only</c>: no output projection, the attended values are returned as they are.
/// <para>The T-LoRA seam, as in <see cref="Attention"/>: every adaptable projection (to_q, to_k, to_v, and where present
/// to_out.0, add_q_proj, add_k_proj, add_v_proj) goes through one helper adding <see cref="processor"/>'s delta; to_add_out
/// is never adapted (the official FLUX T-LoRA code leaves it alone). An attached adapter is registered as the child
/// "processor", so its keys read "transformer_blocks.0.attn.processor.to_q_lora.down.weight".</para>
/// </summary>
public sealed class FluxAttention : Module, IAdaptableAttention
{
    public readonly RMSNorm norm_q;
    public readonly RMSNorm norm_k;
    public readonly Linear to_q;
    public readonly Linear to_k;
    public readonly Linear to_v;
    public readonly Linear? add_k_proj;
    public readonly Linear? add_v_proj;
    public readonly Linear? add_q_proj;
    /// <summary>The image tokens' output projection (index 0) and a dropout (index 1); null when pre_only.</summary>
    public readonly ModuleList<Module>? to_out;
    /// <summary>The text tokens' output projection (double-stream blocks).</summary>
    public readonly Linear? to_add_out;
    public readonly RMSNorm? norm_added_q;
    public readonly RMSNorm? norm_added_k;

    /// <param name="query_dim">Channels of the image tokens.</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="dim_head">Channels per head.</param>
    /// <param name="added_kv_proj_dim">Channels of the text tokens for joint attention; null for the single-stream blocks.</param>
    /// <param name="pre_only">No output projection (single-stream blocks).</param>
    /// <param name="eps">Epsilon of the RMS norms (FLUX: 1e-6).</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public FluxAttention(long query_dim, long heads, long dim_head, long? added_kv_proj_dim, bool pre_only, double eps = 1e-6,
        ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(FluxAttention))
    {
        var inner = heads * dim_head;
        this.heads = heads;
        norm_q = new RMSNorm(dim_head, eps, true, device: device, dtype: dtype);
        norm_k = new RMSNorm(dim_head, eps, true, device: device, dtype: dtype);
        to_q = Linear(query_dim, inner, true, device: device, dtype: dtype);
        to_k = Linear(query_dim, inner, true, device: device, dtype: dtype);
        to_v = Linear(query_dim, inner, true, device: device, dtype: dtype);
        if (added_kv_proj_dim is { } added)
        {
            add_k_proj = Linear(added, inner, true, device: device, dtype: dtype);
            add_v_proj = Linear(added, inner, true, device: device, dtype: dtype);
            add_q_proj = Linear(added, inner, true, device: device, dtype: dtype);
            to_add_out = Linear(inner, query_dim, true, device: device, dtype: dtype);
            norm_added_q = new RMSNorm(dim_head, eps, true, device: device, dtype: dtype);
            norm_added_k = new RMSNorm(dim_head, eps, true, device: device, dtype: dtype);
        }
        if (!pre_only) to_out = new ModuleList<Module>(Linear(inner, query_dim, true, device: device, dtype: dtype), Dropout(0.0));
        RegisterComponents();
    }

    /// <summary>Number of heads.</summary>
    public long heads { get; }

    /// <summary>The projections present, with their (in, out) features: to_q, to_k, to_v, and in the double-stream
    /// blocks to_out (to_out.0), add_q_proj, add_k_proj, add_v_proj.</summary>
    public IReadOnlyDictionary<string, (long In, long Out)> AdaptableProjections
    {
        get
        {
            var d = new Dictionary<string, (long, long)>(StringComparer.Ordinal)
            {
                ["to_q"] = Dims(to_q), ["to_k"] = Dims(to_k), ["to_v"] = Dims(to_v),
            };
            if (to_out is not null) d["to_out"] = Dims((Linear)to_out[0]);
            if (add_q_proj is not null) d["add_q_proj"] = Dims(add_q_proj);
            if (add_k_proj is not null) d["add_k_proj"] = Dims(add_k_proj);
            if (add_v_proj is not null) d["add_v_proj"] = Dims(add_v_proj);
            return d;
        }
    }

    private static (long, long) Dims(Linear l) => (l.in_features, l.out_features);

    /// <summary>The attached adapter (registered as child "processor"), or null.</summary>
    public AttentionAdapter? processor { get; private set; }

    /// <summary>Attaches <paramref name="adapter"/> (or detaches with null), replacing any previous one. The previous
    /// adapter is unregistered, not disposed: whoever made it owns it.</summary>
    public void SetAdapter(AttentionAdapter? adapter)
    {
        register_module("processor", null!); // null unregisters
        processor = adapter;
        if (adapter is not null) register_module("processor", adapter);
    }

    /// <summary>Attends over <paramref name="hidden_states"/> (B, N, C) and, in the double-stream blocks,
    /// <paramref name="encoder_hidden_states"/> (B, T, C') jointly, with rotary embeddings over the T + N (or N) tokens.
    /// Returns the image tokens' output and the text tokens' (null without text tokens; the output is then the attended
    /// values without any output projection, as diffusers' processor returns them).</summary>
    public (Tensor hidden_states, Tensor? encoder_hidden_states) forward(Tensor hidden_states, Tensor? encoder_hidden_states,
        (Tensor cos, Tensor sin)? image_rotary_emb)
    {
        if (encoder_hidden_states is not null && add_q_proj is null)
            throw new ArgumentException("this attention has no text projections (single-stream): pass no encoder_hidden_states");
        using var scope = torch.NewDisposeScope();
        var batch = (encoder_hidden_states ?? hidden_states).size(0);
        var query = Heads(Project("to_q", to_q, hidden_states), batch);
        var key = Heads(Project("to_k", to_k, hidden_states), batch);
        var value = Heads(Project("to_v", to_v, hidden_states), batch);
        query = norm_q.call(query);
        key = norm_k.call(key);

        if (encoder_hidden_states is not null)
        {
            var cQuery = norm_added_q!.call(Heads(Project("add_q_proj", add_q_proj!, encoder_hidden_states), batch));
            var cKey = norm_added_k!.call(Heads(Project("add_k_proj", add_k_proj!, encoder_hidden_states), batch));
            var cValue = Heads(Project("add_v_proj", add_v_proj!, encoder_hidden_states), batch);
            query = torch.cat([cQuery, query], 2);
            key = torch.cat([cKey, key], 2);
            value = torch.cat([cValue, value], 2);
        }
        if (image_rotary_emb is { } rope)
        {
            query = FluxPosEmbed.apply_rotary_emb(query, rope);
            key = FluxPosEmbed.apply_rotary_emb(key, rope);
        }

        var o = ScaledDotProductAttention.Apply(query, key, value);
        o = o.transpose(1, 2).reshape(batch, -1, heads * query.size(-1)).to(query.dtype);
        // As FluxAttnProcessor2_0: without text tokens the attended values are returned unprojected.
        if (encoder_hidden_states is null) return (o.MoveToOuterDisposeScope(), null);
        var textLength = encoder_hidden_states.size(1);
        var context = o.narrow(1, 0, textLength);
        var image = o.narrow(1, textLength, o.size(1) - textLength);
        image = ((Dropout)to_out![1]).call(Project("to_out", (Linear)to_out[0], image));
        context = to_add_out!.call(context);
        return (image.MoveToOuterDisposeScope(), context.MoveToOuterDisposeScope());
    }

    /// <summary>(B, S, heads · d) → (B, heads, S, d).</summary>
    private Tensor Heads(Tensor x, long batch) => x.view(batch, -1, heads, x.size(-1) / heads).transpose(1, 2);

    /// <summary>The seam: the frozen projection's output plus the adapter's delta for it, if any.</summary>
    private Tensor Project(string name, Linear layer, Tensor input)
    {
        var y = layer.call(input);
        return processor?.Delta(name, input) is { } delta ? y.Plus(delta) : y;
    }
}
