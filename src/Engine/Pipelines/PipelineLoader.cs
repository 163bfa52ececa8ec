using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Pipelines;

/// <summary>Opens a diffusers folder with the pipeline its model_index.json names.</summary>
public static class PipelineLoader
{
    /// <summary>Loads <paramref name="folder"/> as an <see cref="SdxlPipeline"/> (StableDiffusionXLPipeline) or a
    /// <see cref="FluxPipeline"/> (FluxPipeline, T5 max_sequence_length 512); any other class is refused.</summary>
    public static IDiffusionPipeline Load(string folder, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var index = ModelIndex.Load(folder);
        return index.ClassName switch
        {
            SdxlPipeline.ClassName => SdxlPipeline.Load(folder, device: device, dtype: dtype),
            FluxPipeline.ClassName => FluxPipeline.Load(folder, device: device, dtype: dtype),
            _ => throw new NotSupportedException(
                $"'{folder}' holds a {index.ClassName}; supported: {SdxlPipeline.ClassName}, {FluxPipeline.ClassName}"),
        };
    }

    /// <summary>The model's native resolution. SD-XL: the UNet's sample_size times the VAE's downscale. FLUX (whose
    /// transformer has no sample_size): the VAE config's sample_size, or 1024 when absent
    /// (<see cref="FluxPipeline.NativeResolution"/>). Otherwise 1024.</summary>
    public static int DefaultResolution(IDiffusionPipeline pipeline) => pipeline switch
    {
        SdxlPipeline { unet.config.sample_size: { } size } s => size * s.ResolutionMultiple,
        FluxPipeline f => f.NativeResolution,
        _ => 1024,
    };

    /// <summary>The same rule read from a folder's configs, without loading weights (for listings and validation).</summary>
    public static int NativeResolution(string folder)
    {
        var vae = ConfigJson.LoadComponent<Vae.AutoencoderKLConfig>(Path.Combine(folder, "vae"));
        var scale = 1 << (vae.block_out_channels.Length - 1);
        var unetConfig = Path.Combine(folder, "unet", "config.json");
        if (File.Exists(unetConfig))
            return (ConfigJson.Load<Unet.UNet2DConditionModelConfig>(unetConfig).sample_size ?? 128) * scale;
        var size = vae.sample_size ?? 1024;
        return size / (2 * scale) * (2 * scale);
    }

    /// <summary>The largest adapter rank any attention projection of the folder's denoiser holds (SD-XL: the widest
    /// UNet block; FLUX: heads × head dim).</summary>
    public static int MaxAdapterRank(string folder)
    {
        var unetConfig = Path.Combine(folder, "unet", "config.json");
        if (File.Exists(unetConfig)) return ConfigJson.Load<Unet.UNet2DConditionModelConfig>(unetConfig).block_out_channels.Max();
        var flux = ConfigJson.LoadComponent<Flux.FluxTransformer2DModelConfig>(Path.Combine(folder, "transformer"));
        return flux.num_attention_heads * flux.attention_head_dim;
    }
}
