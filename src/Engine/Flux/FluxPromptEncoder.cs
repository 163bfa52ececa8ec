using TLoRA.Engine.Clip;
using TLoRA.Engine.IO;
using TLoRA.Engine.T5;
using TLoRA.Engine.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Flux;

/// <summary>
/// FLUX's prompt encoding, as diffusers' FluxPipeline.encode_prompt computes it for one prompt and one image per prompt:
/// the pooled output of the CLIP text model (tokenizer/ + text_encoder/, padded and truncated to the tokenizer's
/// model_max_length, 77) for <c>prompt</c>; the T5 encoder's last hidden state (tokenizer_2/ + text_encoder_2/, padded
/// and truncated to max_sequence_length) for <c>prompt_2</c> (null or "" → prompt); text_ids = zeros [seq, 3]. The
/// encoders are frozen: encoding runs without autograd.
/// </summary>
public sealed class FluxPromptEncoder : IDisposable
{
    /// <summary>FluxPipeline's default max_sequence_length (FLUX.1-dev; the official trainer's default too).</summary>
    public const int DefaultMaxSequenceLength = 512;

    private readonly bool ownsModels;

    /// <summary>Wraps tokenizers and encoders the caller keeps owning.</summary>
    public FluxPromptEncoder(CLIPTokenizer tokenizer, T5Tokenizer tokenizer_2, CLIPTextModel text_encoder, T5EncoderModel text_encoder_2)
        : this(tokenizer, tokenizer_2, text_encoder, text_encoder_2, ownsModels: false)
    {
    }

    private FluxPromptEncoder(CLIPTokenizer tokenizer, T5Tokenizer tokenizer_2, CLIPTextModel text_encoder, T5EncoderModel text_encoder_2,
        bool ownsModels)
    {
        this.tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        this.tokenizer_2 = tokenizer_2 ?? throw new ArgumentNullException(nameof(tokenizer_2));
        this.text_encoder = text_encoder ?? throw new ArgumentNullException(nameof(text_encoder));
        this.text_encoder_2 = text_encoder_2 ?? throw new ArgumentNullException(nameof(text_encoder_2));
        this.ownsModels = ownsModels;
    }

    /// <summary>The CLIP tokenizer (tokenizer/).</summary>
    public CLIPTokenizer tokenizer { get; }
    /// <summary>The T5 tokenizer (tokenizer_2/).</summary>
    public T5Tokenizer tokenizer_2 { get; }
    /// <summary>CLIP-L (text_encoder/): its pooled output conditions the transformer's temb.</summary>
    public CLIPTextModel text_encoder { get; }
    /// <summary>The T5 encoder (text_encoder_2/): its last hidden state is the transformer's encoder_hidden_states.</summary>
    public T5EncoderModel text_encoder_2 { get; }

    /// <summary>Loads both tokenizers and encoders of a FLUX pipeline folder, from the sub-folders model_index.json
    /// names. The returned encoder owns the models: dispose it.</summary>
    public static FluxPromptEncoder Load(string pipelineFolder, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var index = ModelIndex.Load(pipelineFolder);
        string Folder(string component) => Path.Combine(pipelineFolder, index[component].Name);
        var t1 = CLIPTokenizer.Load(Folder("tokenizer"));
        var t2 = T5Tokenizer.Load(Folder("tokenizer_2"));
        var te1 = CLIPTextModel.Load(Folder("text_encoder"), device: device, dtype: dtype);
        try
        {
            var te2 = T5EncoderModel.Load(Folder("text_encoder_2"), device: device, dtype: dtype);
            te1.requires_grad_(false);
            te2.requires_grad_(false);
            return new FluxPromptEncoder(t1, t2, te1, te2, ownsModels: true);
        }
        catch
        {
            te1.Dispose();
            throw;
        }
    }

    /// <summary>encode_prompt(prompt, prompt_2, num_images_per_prompt=1, max_sequence_length): the T5 states
    /// [1, max_sequence_length, d_model] in text_encoder_2's dtype, the CLIP pooled output [1, hidden] in text_encoder's
    /// dtype and text_ids [max_sequence_length, 3] (float32 zeros), on the encoders' device.</summary>
    public FluxPromptEmbeds Encode(string prompt, string? prompt_2 = null, int maxSequenceLength = DefaultMaxSequenceLength)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequenceLength, 1);
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var clipDevice = text_encoder.text_model.embeddings.token_embedding.weight!.device;
        var clipIds = tokenizer.Encode(prompt);
        using var clip = text_encoder.call(torch.tensor(clipIds, 1, clipIds.Length).to(clipDevice));
        var t5Device = text_encoder_2.shared.weight!.device;
        var t5Ids = tokenizer_2.Encode(string.IsNullOrEmpty(prompt_2) ? prompt : prompt_2, maxSequenceLength);
        using var t5 = text_encoder_2.call(torch.tensor(t5Ids, 1, t5Ids.Length).to(t5Device));
        var embeds = t5.last_hidden_state.alias();
        var pooled = clip.pooler_output.alias();
        var textIds = FluxLatents.TextIds(maxSequenceLength, ScalarType.Float32, t5Device);
        return new FluxPromptEmbeds(embeds.MoveToOuterDisposeScope(), pooled.MoveToOuterDisposeScope(), textIds.MoveToOuterDisposeScope());
    }

    /// <summary>Disposes the encoders when this object loaded them (<see cref="Load"/>).</summary>
    public void Dispose()
    {
        if (!ownsModels) return;
        text_encoder.Dispose();
        text_encoder_2.Dispose();
    }
}

/// <summary>
/// FLUX's text conditioning for one prompt: the transformer's encoder_hidden_states, pooled_projections and txt_ids.
/// Owns its tensors.
/// </summary>
/// <param name="prompt_embeds">T5 last hidden state [batch, seq, d_model].</param>
/// <param name="pooled_prompt_embeds">CLIP pooled output [batch, hidden].</param>
/// <param name="text_ids">Text token positions [seq, 3] (zeros).</param>
public sealed record FluxPromptEmbeds(Tensor prompt_embeds, Tensor pooled_prompt_embeds, Tensor text_ids) : IDisposable
{
    /// <summary>Disposes the three tensors.</summary>
    public void Dispose()
    {
        prompt_embeds.Dispose();
        pooled_prompt_embeds.Dispose();
        text_ids.Dispose();
    }
}
