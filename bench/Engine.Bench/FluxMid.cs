using TLoRA.Engine.Clip;
using TLoRA.Engine.Flux;
using TLoRA.Engine.IO;
using TLoRA.Engine.Pipelines;
using TLoRA.Engine.T5;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Bench;

/// <summary>
/// The "flux-mid" config: a FluxTransformer2DModel with FLUX.1-dev's block kinds at reduced width and depth (6 heads ×
/// 64 = 384 wide, 4 double-stream + 8 single-stream blocks; FLUX.1-dev is 24 × 128, 19 + 38) with random weights,
/// behind the real FluxPipeline with flux-tiny's text encoders and VAE (the transformer's context and pooled widths
/// follow them), trained at 256² (16² packed image tokens).
/// </summary>
internal static class FluxMid
{
    public const int ImageSize = 256;
    public const string Describe = "heads 6 × dim 64 (RoPE axes 8/28/28), 4 double + 8 single blocks, guidance embedding";

    /// <summary>The transformer's config; its context and pooled widths follow <paramref name="folder"/>'s encoders.</summary>
    public static FluxTransformer2DModelConfig Config(string folder)
    {
        var t5 = ConfigJson.LoadComponent<T5Config>(Path.Combine(folder, "text_encoder_2"));
        var clip = ConfigJson.LoadComponent<CLIPTextConfig>(Path.Combine(folder, "text_encoder"));
        return new FluxTransformer2DModelConfig
        {
            patch_size = 1, in_channels = 64, num_layers = 4, num_single_layers = 8, attention_head_dim = 64, num_attention_heads = 6,
            joint_attention_dim = t5.DModel, pooled_projection_dim = clip.HiddenSize, guidance_embeds = true, axes_dims_rope = [8, 28, 28],
        };
    }

    /// <summary>The pipeline with the transformer's random weights drawn from a fixed seed, so every process of a row
    /// trains the same model (before, each drew its own and the row's losses and adapters differed by process).</summary>
    public static FluxPipeline Load(string folder, ScalarType dtype, Device? device, long seed = 0)
    {
        var config = Config(folder);
        return FluxPipeline.Load(folder, dtype, device, 32, () =>
        {
            torch.manual_seed(seed); // the layers' default init draws from the global generator
            var model = new FluxTransformer2DModel(config, device: device, dtype: dtype);
            model.requires_grad_(false);
            return model;
        });
    }
}
