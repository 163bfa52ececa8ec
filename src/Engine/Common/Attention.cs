using TLoRA.Engine.Adapters;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Common;

/// <summary>
/// diffusers' <c>Attention</c> with the math of <c>AttnProcessor2_0</c> (scaled_dot_product_attention): self- or
/// cross-attention over (B, N, C) tokens, or over the pixels of a (B, C, H, W) map (the VAE's mid-block attention, with
/// its <c>group_norm</c>, <c>residual_connection</c> and <c>rescale_output_factor</c>).
/// <para>The T-LoRA seam: every projection (to_q, to_k, to_v and to_out.0) goes through one helper that adds
/// <see cref="processor"/>'s delta to the frozen layer's output. The processor is null unless an adapter is attached
/// with <see cref="SetAdapter"/>; it is then registered as the child "processor", so its parameters are named
/// "...attn1.processor.to_q_lora.q_layer.weight" like the official T-LoRA code.</para>
/// </summary>
public sealed class Attention : Module, IAdaptableAttention
{
    /// <summary>Group norm over channels before the projections (VAE attention), or null.</summary>
    public readonly GroupNorm? group_norm;
    public readonly Linear to_q;
    public readonly Linear to_k;
    public readonly Linear to_v;
    /// <summary>The output projection (index 0, a <see cref="TorchSharp.Modules.Linear"/>) and a dropout (index 1), so keys read to_out.0.weight.</summary>
    public readonly ModuleList<Module> to_out;

    /// <param name="query_dim">Channels of the queries (and of the output).</param>
    /// <param name="cross_attention_dim">Channels of the keys/values' source; null for self-attention.</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="dim_head">Channels per head (inner dim = heads · dim_head).</param>
    /// <param name="dropout">Dropout after the output projection.</param>
    /// <param name="bias">Whether to_q/to_k/to_v have biases.</param>
    /// <param name="out_bias">Whether to_out.0 has a bias.</param>
    /// <param name="residual_connection">Add the input to the output (VAE attention).</param>
    /// <param name="rescale_output_factor">Divide the output by this.</param>
    /// <param name="norm_num_groups">Groups of <see cref="group_norm"/>; null for none.</param>
    /// <param name="eps">Epsilon of <see cref="group_norm"/>.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public Attention(long query_dim, long? cross_attention_dim = null, long heads = 8, long dim_head = 64, double dropout = 0.0,
        bool bias = false, bool out_bias = true, bool residual_connection = false, double rescale_output_factor = 1.0,
        long? norm_num_groups = null, double eps = 1e-5, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(Attention))
    {
        var inner = heads * dim_head;
        var context = cross_attention_dim ?? query_dim;
        this.heads = heads;
        this.residual_connection = residual_connection;
        this.rescale_output_factor = rescale_output_factor;
        is_cross_attention = cross_attention_dim is not null;
        if (norm_num_groups is { } g) group_norm = Layers.GroupNorm(g, query_dim, eps, true, device: device, dtype: dtype);
        to_q = Linear(query_dim, inner, bias, device: device, dtype: dtype);
        to_k = Linear(context, inner, bias, device: device, dtype: dtype);
        to_v = Linear(context, inner, bias, device: device, dtype: dtype);
        to_out = new ModuleList<Module>(Linear(inner, query_dim, out_bias, device: device, dtype: dtype), Dropout(dropout));
        RegisterComponents();
    }

    /// <summary>Number of heads.</summary>
    public long heads { get; }
    /// <summary>Whether the input is added to the output.</summary>
    public bool residual_connection { get; }
    /// <summary>The output is divided by this.</summary>
    public double rescale_output_factor { get; }
    /// <summary>Whether keys and values come from another sequence (cross_attention_dim was given).</summary>
    public bool is_cross_attention { get; }

    /// <summary>to_q, to_k, to_v and to_out (its Linear, to_out.0) with their (in, out) features.</summary>
    public IReadOnlyDictionary<string, (long In, long Out)> AdaptableProjections => new Dictionary<string, (long, long)>
    {
        ["to_q"] = (to_q.in_features, to_q.out_features),
        ["to_k"] = (to_k.in_features, to_k.out_features),
        ["to_v"] = (to_v.in_features, to_v.out_features),
        ["to_out"] = (((Linear)to_out[0]).in_features, ((Linear)to_out[0]).out_features),
    };

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

    /// <summary>Attends from <paramref name="hidden_states"/> ((B, N, C) tokens or a (B, C, H, W) map) to
    /// <paramref name="encoder_hidden_states"/> (B, M, C') or, when null, to itself.</summary>
    public Tensor forward(Tensor hidden_states, Tensor? encoder_hidden_states = null)
    {
        using var scope = torch.NewDisposeScope();
        var residual = hidden_states;
        var shape = hidden_states.shape;
        var spatial = shape.Length == 4;
        var x = spatial ? hidden_states.reshape(shape[0], shape[1], shape[2] * shape[3]).transpose(1, 2) : hidden_states;
        var batch = x.size(0);
        if (group_norm is not null) x = group_norm.call(x.transpose(1, 2)).transpose(1, 2);

        var query = Project("to_q", to_q, x);
        var context = encoder_hidden_states ?? x;
        var key = Project("to_k", to_k, context);
        var value = Project("to_v", to_v, context);

        var headDim = key.size(-1) / heads;
        query = query.view(batch, -1, heads, headDim).transpose(1, 2);
        key = key.view(batch, -1, heads, headDim).transpose(1, 2);
        value = value.view(batch, -1, heads, headDim).transpose(1, 2);
        var o = ScaledDotProductAttention.Apply(query, key, value);
        o = o.transpose(1, 2).reshape(batch, -1, heads * headDim);

        o = Project("to_out", (Linear)to_out[0], o);
        o = ((Dropout)to_out[1]).call(o);
        if (spatial) o = o.transpose(-1, -2).reshape(shape);
        if (residual_connection) o = o.Plus(residual);
        if (rescale_output_factor != 1.0) o = o / Sc(rescale_output_factor);
        return o.MoveToOuterDisposeScope();
    }

    /// <summary>The seam: the frozen projection's output plus the adapter's delta for it, if any.</summary>
    private Tensor Project(string name, Linear layer, Tensor input)
    {
        var y = layer.call(input);
        return processor?.Delta(name, input) is { } delta ? y.Plus(delta) : y;
    }
}
