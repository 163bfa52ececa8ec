using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Clip;

/// <summary>
/// SD-XL's text conditioning as diffusers' StableDiffusionXLPipeline.encode_prompt returns it, for one prompt. The
/// tensors are owned by this object (dispose it) and are on text_encoder_2's device and dtype.
/// </summary>
/// <param name="prompt_embeds">[1, seq, hidden₁ + hidden₂]: both encoders' penultimate hidden states, concatenated.</param>
/// <param name="pooled_prompt_embeds">[1, projection_dim]: text_encoder_2's text_embeds (the UNet's added text_embeds).</param>
/// <param name="negative_prompt_embeds">The unconditional counterpart of prompt_embeds; null without classifier-free guidance.</param>
/// <param name="negative_pooled_prompt_embeds">The unconditional counterpart of pooled_prompt_embeds; null without guidance.</param>
public sealed record SdxlPromptEmbeds(Tensor prompt_embeds, Tensor pooled_prompt_embeds, Tensor? negative_prompt_embeds,
    Tensor? negative_pooled_prompt_embeds) : IDisposable
{
    /// <summary>Disposes every tensor.</summary>
    public void Dispose()
    {
        prompt_embeds.Dispose();
        pooled_prompt_embeds.Dispose();
        negative_prompt_embeds?.Dispose();
        negative_pooled_prompt_embeds?.Dispose();
    }
}
