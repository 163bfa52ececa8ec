using TLoRA.Engine.IO;
using TLoRA.Torch;

namespace TLoRA.Engine.Pipelines;

/// <summary>Opens a diffusers folder with the pipeline its model_index.json names.</summary>
public static class PipelineLoader
{
    public static IDiffusionPipeline Load(string folder, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var index = ModelIndex.Load(folder);
        return index.ClassName switch
        {
            SdxlPipeline.ClassName => SdxlPipeline.Load(folder, dtype, device),
            _ => throw new NotSupportedException($"'{folder}' holds a {index.ClassName}; supported: {SdxlPipeline.ClassName}"),
        };
    }

    /// <summary>The model's native resolution: the denoiser's sample_size times the VAE's downscale.</summary>
    public static int DefaultResolution(IDiffusionPipeline pipeline) => pipeline switch
    {
        SdxlPipeline { unet.config.sample_size: { } size } s => size * s.ResolutionMultiple,
        _ => 1024,
    };
}
