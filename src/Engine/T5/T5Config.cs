using System.Text.Json.Serialization;
using TLoRA.Engine.Clip;

namespace TLoRA.Engine.T5;

/// <summary>
/// transformers' T5Config as a text encoder folder's config.json holds it, bound by the JSON property names. Defaults
/// are transformers' (t5-small); every size the model uses comes from here. feed_forward_proj is "{act}" or
/// "gated-{act}"; as in transformers, "gated-gelu" means the tanh approximation ("gelu_new"), and dense_act_fn is
/// derived from feed_forward_proj (a dense_act_fn key in the file is informational).
/// </summary>
public sealed record T5Config
{
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 32128;
    [JsonPropertyName("d_model")] public int DModel { get; init; } = 512;
    [JsonPropertyName("d_kv")] public int DKv { get; init; } = 64;
    [JsonPropertyName("d_ff")] public int DFf { get; init; } = 2048;
    [JsonPropertyName("num_layers")] public int NumLayers { get; init; } = 6;
    [JsonPropertyName("num_heads")] public int NumHeads { get; init; } = 8;
    [JsonPropertyName("relative_attention_num_buckets")] public int RelativeAttentionNumBuckets { get; init; } = 32;
    [JsonPropertyName("relative_attention_max_distance")] public int RelativeAttentionMaxDistance { get; init; } = 128;
    [JsonPropertyName("dropout_rate")] public double DropoutRate { get; init; } = 0.1;
    [JsonPropertyName("layer_norm_epsilon")] public double LayerNormEpsilon { get; init; } = 1e-6;
    [JsonPropertyName("feed_forward_proj")] public string FeedForwardProj { get; init; } = "relu";
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; init; }
    [JsonPropertyName("eos_token_id")] public int EosTokenId { get; init; } = 1;
    [JsonPropertyName("model_type")] public string? ModelType { get; init; }
    [JsonPropertyName("architectures")] public IReadOnlyList<string>? Architectures { get; init; }
    [JsonPropertyName("torch_dtype")] public string? TorchDtype { get; init; }

    /// <summary>Whether the feed-forward is gated (wi_0 activated times wi_1): feed_forward_proj "gated-…".</summary>
    [JsonIgnore] public bool IsGatedAct => FeedForwardProj.Split('-')[0] == "gated";

    /// <summary>The activation's transformers name: the last part of feed_forward_proj, "gelu_new" for "gated-gelu".</summary>
    [JsonIgnore] public string DenseActFn => FeedForwardProj == "gated-gelu" ? "gelu_new" : FeedForwardProj.Split('-')[^1];

    /// <summary>num_heads · d_kv, the width of q, k, v.</summary>
    [JsonIgnore] public int InnerDim => NumHeads * DKv;

    /// <summary>Throws <see cref="InvalidDataException"/> naming the first inconsistent setting.</summary>
    public void Validate()
    {
        static void Positive(string name, double v)
        {
            if (!(v > 0)) throw new InvalidDataException($"T5Config: {name} must be positive, got {v}");
        }
        Positive("vocab_size", VocabSize);
        Positive("d_model", DModel);
        Positive("d_kv", DKv);
        Positive("d_ff", DFf);
        Positive("num_layers", NumLayers);
        Positive("num_heads", NumHeads);
        Positive("relative_attention_num_buckets", RelativeAttentionNumBuckets);
        Positive("relative_attention_max_distance", RelativeAttentionMaxDistance);
        Positive("layer_norm_epsilon", LayerNormEpsilon);
        if (RelativeAttentionNumBuckets < 4)
            throw new InvalidDataException($"T5Config: relative_attention_num_buckets must be at least 4, got {RelativeAttentionNumBuckets}");
        if (RelativeAttentionMaxDistance <= RelativeAttentionNumBuckets / 4)
            throw new InvalidDataException($"T5Config: relative_attention_max_distance {RelativeAttentionMaxDistance} must exceed num_buckets / 4");
        var parts = FeedForwardProj.Split('-');
        if (parts.Length > 2 || (parts.Length == 2 && parts[0] != "gated"))
            throw new InvalidDataException($"T5Config: feed_forward_proj '{FeedForwardProj}' is not '{{act}}' or 'gated-{{act}}'");
        CLIPMLP.CheckActivation(DenseActFn);
    }
}
