using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Unet;

/// <summary>The inputs of <see cref="UNet2DConditionModel.forward(UNet2DConditionInput)"/>.</summary>
/// <param name="sample">Noisy latents (B, in_channels, H, W).</param>
/// <param name="timestep">Timesteps: a scalar tensor (shape []) or one per sample ([B] or [1]); float or integer.</param>
/// <param name="encoder_hidden_states">Text conditioning (B, tokens, cross_attention_dim).</param>
/// <param name="text_embeds">SD-XL: pooled text embeddings (B, P); needed when addition_embed_type is "text_time".</param>
/// <param name="time_ids">SD-XL: micro-conditioning (B, 6) = [h, w, crop top, crop left, target h, target w].</param>
public sealed record UNet2DConditionInput(Tensor sample, Tensor timestep, Tensor encoder_hidden_states, Tensor? text_embeds = null,
    Tensor? time_ids = null);
