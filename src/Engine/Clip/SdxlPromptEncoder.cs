using System.Text.Json;
using TLoRA.Engine.IO;
using TLoRA.Engine.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Clip;

/// <summary>
/// SD-XL's prompt encoding, as diffusers' StableDiffusionXLPipeline.encode_prompt computes it for one prompt and one
/// image per prompt: each tokenizer pads/truncates to its model_max_length; prompt_embeds = concat(text_encoder's
/// hidden_states[−2], text_encoder_2's hidden_states[−2]) on the last axis (hidden_states[−(clip_skip + 2)] with
/// clip_skip); pooled = text_encoder_2's text_embeds. The negative side: when negative_prompt is null (not "") and
/// force_zeros_for_empty_prompt is set, zeros of the same shapes; otherwise the encoding of negative_prompt (null → "")
/// and negative_prompt_2 (null or "" → negative_prompt), always from the penultimate layers. The encoders are frozen:
/// encoding runs without autograd.
/// </summary>
public sealed class SdxlPromptEncoder : IDisposable
{
    private readonly bool ownsModels;

    /// <summary>Wraps tokenizers and encoders the caller keeps owning.</summary>
    public SdxlPromptEncoder(CLIPTokenizer tokenizer, CLIPTokenizer tokenizer_2, CLIPTextModel text_encoder,
        CLIPTextModelWithProjection text_encoder_2, bool force_zeros_for_empty_prompt = true)
        : this(tokenizer, tokenizer_2, text_encoder, text_encoder_2, force_zeros_for_empty_prompt, ownsModels: false)
    {
    }

    private SdxlPromptEncoder(CLIPTokenizer tokenizer, CLIPTokenizer tokenizer_2, CLIPTextModel text_encoder,
        CLIPTextModelWithProjection text_encoder_2, bool force_zeros_for_empty_prompt, bool ownsModels)
    {
        this.tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        this.tokenizer_2 = tokenizer_2 ?? throw new ArgumentNullException(nameof(tokenizer_2));
        this.text_encoder = text_encoder ?? throw new ArgumentNullException(nameof(text_encoder));
        this.text_encoder_2 = text_encoder_2 ?? throw new ArgumentNullException(nameof(text_encoder_2));
        this.force_zeros_for_empty_prompt = force_zeros_for_empty_prompt;
        this.ownsModels = ownsModels;
    }

    public CLIPTokenizer tokenizer { get; }
    public CLIPTokenizer tokenizer_2 { get; }
    public CLIPTextModel text_encoder { get; }
    public CLIPTextModelWithProjection text_encoder_2 { get; }
    public bool force_zeros_for_empty_prompt { get; }

    /// <summary>Loads both tokenizers and encoders of an SD-XL pipeline folder (tokenizer/, tokenizer_2/,
    /// text_encoder/, text_encoder_2/) and model_index.json's force_zeros_for_empty_prompt (true when absent, as
    /// diffusers' default). The returned encoder owns the models: dispose it.</summary>
    public static SdxlPromptEncoder Load(string pipelineFolder, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var index = ModelIndex.Load(pipelineFolder);
        var forceZeros = !index.Settings.TryGetValue("force_zeros_for_empty_prompt", out var v) || v.ValueKind != JsonValueKind.False;
        var t1 = CLIPTokenizer.Load(Path.Combine(pipelineFolder, index["tokenizer"].Name));
        var t2 = CLIPTokenizer.Load(Path.Combine(pipelineFolder, index["tokenizer_2"].Name));
        var te1 = CLIPTextModel.Load(Path.Combine(pipelineFolder, index["text_encoder"].Name), device: device, dtype: dtype);
        try
        {
            var te2 = CLIPTextModelWithProjection.Load(Path.Combine(pipelineFolder, index["text_encoder_2"].Name), device: device, dtype: dtype);
            return new SdxlPromptEncoder(t1, t2, te1, te2, forceZeros, ownsModels: true);
        }
        catch
        {
            te1.Dispose();
            throw;
        }
    }

    /// <summary>encode_prompt(prompt, prompt_2, num_images_per_prompt=1, do_classifier_free_guidance, negative_prompt,
    /// negative_prompt_2, clip_skip). prompt_2 null or "" means prompt.</summary>
    public SdxlPromptEmbeds Encode(string prompt, string? prompt_2 = null, bool do_classifier_free_guidance = true,
        string? negative_prompt = null, string? negative_prompt_2 = null, int? clip_skip = null)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (clip_skip is < 0) throw new ArgumentOutOfRangeException(nameof(clip_skip), clip_skip, "clip_skip must not be negative");
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var (embeds, pooled) = EncodePair(prompt, string.IsNullOrEmpty(prompt_2) ? prompt : prompt_2, clip_skip ?? 0);
        Tensor? negative = null, negativePooled = null;
        if (do_classifier_free_guidance && negative_prompt is null && force_zeros_for_empty_prompt)
        {
            negative = torch.zeros_like(embeds);
            negativePooled = torch.zeros_like(pooled);
        }
        else if (do_classifier_free_guidance)
        {
            var n1 = negative_prompt ?? "";
            (negative, negativePooled) = EncodePair(n1, string.IsNullOrEmpty(negative_prompt_2) ? n1 : negative_prompt_2, 0);
        }
        return new SdxlPromptEmbeds(embeds.MoveToOuterDisposeScope(), pooled.MoveToOuterDisposeScope(),
            negative?.MoveToOuterDisposeScope(), negativePooled?.MoveToOuterDisposeScope());
    }

    /// <summary>Token ids of <paramref name="text"/> as a [1, model_max_length] int64 tensor on the encoder's device.</summary>
    public static Tensor InputIds(CLIPTokenizer tokenizer, string text, Device device)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        using var scope = torch.NewDisposeScope();
        var ids = tokenizer.Encode(text);
        return torch.tensor(ids, 1, ids.Length).to(device).MoveToOuterDisposeScope();
    }

    /// <summary>(concat of both hidden_states[−(skip + 2)], text_encoder_2's text_embeds), in text_encoder_2's dtype.</summary>
    private (Tensor Embeds, Tensor Pooled) EncodePair(string text, string text_2, int skip)
    {
        var device = text_encoder_2.text_projection.weight.device;
        var dtype = text_encoder_2.text_projection.weight.dtype;
        using var out1 = text_encoder.call(InputIds(tokenizer, text, text_encoder.text_model.embeddings.token_embedding.weight!.device));
        using var out2 = text_encoder_2.call(InputIds(tokenizer_2, text_2, device));
        var embeds = torch.cat([Layer(out1, skip).to(dtype, device), Layer(out2, skip)], -1).to(dtype);
        return (embeds, out2.text_embeds!.alias());
    }

    private static Tensor Layer(CLIPTextModelOutput output, int skip)
    {
        var n = output.hidden_states.Count;
        if (skip + 2 > n)
            throw new ArgumentOutOfRangeException("clip_skip", skip, $"clip_skip {skip} leaves no layer: the encoder has {n - 1} layers");
        return output.hidden_states[n - 2 - skip];
    }

    /// <summary>Disposes the encoders when this object loaded them (<see cref="Load"/>).</summary>
    public void Dispose()
    {
        if (!ownsModels) return;
        text_encoder.Dispose();
        text_encoder_2.Dispose();
    }
}
