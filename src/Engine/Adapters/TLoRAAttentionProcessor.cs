using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Adapters;

/// <summary>
/// The adapter of one attention layer, named like the official T-LoRA processors: to_q_lora, to_k_lora, to_v_lora,
/// to_out_lora (and for FLUX's joint attention to_q_proj_lora, to_k_proj_lora, to_v_proj_lora on add_*_proj). Each is
/// an <see cref="OrthogonalLoRALinearLayer"/> or a <see cref="LoRALinearLayer"/>; all read the shared rank mask.
/// </summary>
public sealed class TLoRAAttentionProcessor : AttentionAdapter
{
    /// <summary>Projection name in the model → adapter key in the official checkpoints.</summary>
    public static readonly IReadOnlyDictionary<string, string> KeyOf = new Dictionary<string, string>
    {
        ["to_q"] = "to_q_lora", ["to_k"] = "to_k_lora", ["to_v"] = "to_v_lora", ["to_out"] = "to_out_lora",
        ["add_q_proj"] = "to_q_proj_lora", ["add_k_proj"] = "to_k_proj_lora", ["add_v_proj"] = "to_v_proj_lora",
    };

    private readonly Dictionary<string, Module> layers = new(StringComparer.Ordinal);
    private readonly RankMaskContext? mask;

    /// <param name="layers">projection name ("to_q", ...) → adapter layer.</param>
    /// <param name="mask">the shared mask; null for plain LoRA (all ranks always).</param>
    public TLoRAAttentionProcessor(IReadOnlyDictionary<string, Module> layers, RankMaskContext? mask) : base(nameof(TLoRAAttentionProcessor))
    {
        this.mask = mask;
        foreach (var (projection, layer) in layers.OrderBy(kv => KeyOf.Keys.ToList().IndexOf(kv.Key)))
        {
            if (!KeyOf.TryGetValue(projection, out var key)) throw new ArgumentException($"no adapter key for projection '{projection}'");
            if (layer is not (OrthogonalLoRALinearLayer or LoRALinearLayer)) throw new ArgumentException($"unsupported adapter layer {layer.GetType().Name}");
            register_module(key, layer);
            this.layers[projection] = layer;
        }
    }

    public IReadOnlyDictionary<string, Module> Layers => layers;

    /// <summary>Scale of every delta (1 in training; the user's adapter scale when sampling).</summary>
    public double Scale { get; set; } = 1.0;

    public override Tensor? Delta(string projection, Tensor input)
    {
        if (!layers.TryGetValue(projection, out var layer) || Scale == 0) return null;
        var d = layer switch
        {
            OrthogonalLoRALinearLayer o => o.ForwardWith(input, mask),
            LoRALinearLayer l => l.ForwardWith(input, mask),
            _ => throw new InvalidOperationException(),
        };
        if (Scale == 1.0) return d;
        var scaled = d * Sc(Scale);
        d.Dispose();
        return scaled;
    }
}
