using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Pipelines;

/// <summary>Opens a diffusers folder with the pipeline its model_index.json names.</summary>
public static class PipelineLoader
{
    /// <summary>Loads <paramref name="folder"/> as an <see cref="SdxlPipeline"/> (StableDiffusionXLPipeline) or a
    /// <see cref="FluxPipeline"/> (FluxPipeline, T5 max_sequence_length 512); any other class is refused.
    /// <paramref name="progress"/> hears the bytes read of <see cref="WeightBytes"/> (tens of GB for FLUX).</summary>
    public static IDiffusionPipeline Load(string folder, ScalarType dtype = ScalarType.Float32, Device? device = null,
        IProgress<LoadProgress>? progress = null)
    {
        var index = ModelIndex.Load(folder);
        if (index.ClassName is not (SdxlPipeline.ClassName or FluxPipeline.ClassName))
            throw new NotSupportedException($"'{folder}' holds a {index.ClassName}; supported: {SdxlPipeline.ClassName}, {FluxPipeline.ClassName}");
        using var meter = LoadMeter.Begin(progress is null ? 0 : WeightBytes(folder), progress);
        IDiffusionPipeline pipeline = index.ClassName == SdxlPipeline.ClassName
            ? SdxlPipeline.Load(folder, device: device, dtype: dtype)
            : FluxPipeline.Load(folder, device: device, dtype: dtype);
        meter?.Complete();
        return pipeline;
    }

    /// <summary>The tensor bytes of every component of <paramref name="folder"/> that has weights (what
    /// <see cref="Load"/> reads), from the safetensors headers only.</summary>
    public static long WeightBytes(string folder)
    {
        long total = 0;
        foreach (var component in ModelIndex.Load(folder).Components)
        {
            var dir = Path.Combine(folder, component.Name);
            if (!ShardedCheckpoint.HasComponentWeights(dir)) continue;
            using var checkpoint = ShardedCheckpoint.OpenComponent(dir);
            total += checkpoint.Names.Sum(n => checkpoint.Entry(n).ByteLength);
        }
        return total;
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
