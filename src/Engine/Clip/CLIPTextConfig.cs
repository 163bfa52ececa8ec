using System.Text.Json.Serialization;

namespace TLoRA.Engine.Clip;

/// <summary>
/// transformers' CLIPTextConfig as a text encoder folder's config.json holds it, bound by the JSON property names.
/// Defaults are transformers' (openai/clip-vit-base-patch32's text tower); every size the model uses comes from here.
/// </summary>
public sealed record CLIPTextConfig
{
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 49408;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 512;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 2048;
    [JsonPropertyName("projection_dim")] public int ProjectionDim { get; init; } = 512;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; } = 12;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; } = 8;
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 77;

    /// <summary>"quick_gelu" (x·σ(1.702x)), "gelu" (exact, erf), "gelu_new" / "gelu_pytorch_tanh" (tanh approximation) or "relu".</summary>
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "quick_gelu";

    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; init; } = 1e-5;
    [JsonPropertyName("attention_dropout")] public double AttentionDropout { get; init; }
    [JsonPropertyName("dropout")] public double Dropout { get; init; }
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; init; } = 1;
    [JsonPropertyName("bos_token_id")] public int BosTokenId { get; init; } = 49406;

    /// <summary>The id pooling looks for; 2 (the value of configs written before transformers PR #24773) selects the
    /// legacy rule, pooling at the argmax of the input ids.</summary>
    [JsonPropertyName("eos_token_id")] public int EosTokenId { get; init; } = 49407;

    [JsonPropertyName("model_type")] public string? ModelType { get; init; }
    [JsonPropertyName("architectures")] public IReadOnlyList<string>? Architectures { get; init; }
    [JsonPropertyName("torch_dtype")] public string? TorchDtype { get; init; }

    /// <summary>hidden_size / num_attention_heads.</summary>
    [JsonIgnore] public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>Throws <see cref="InvalidDataException"/> naming the first inconsistent setting.</summary>
    public void Validate()
    {
        static void Positive(string name, long v)
        {
            if (v <= 0) throw new InvalidDataException($"CLIPTextConfig: {name} must be positive, got {v}");
        }
        Positive("vocab_size", VocabSize);
        Positive("hidden_size", HiddenSize);
        Positive("intermediate_size", IntermediateSize);
        Positive("num_hidden_layers", NumHiddenLayers);
        Positive("num_attention_heads", NumAttentionHeads);
        Positive("max_position_embeddings", MaxPositionEmbeddings);
        if (HiddenSize % NumAttentionHeads != 0)
            throw new InvalidDataException($"CLIPTextConfig: hidden_size {HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads}");
        if (!(LayerNormEps > 0)) throw new InvalidDataException($"CLIPTextConfig: layer_norm_eps must be positive, got {LayerNormEps}");
        CLIPMLP.CheckActivation(HiddenAct);
    }
}
