using TLoRA.Engine.IO;
using TLoRA.Engine.Pipelines;
using TLoRA.Engine.Training;
using TLoRA.Contracts.V1;

namespace TLoRA.GpuService.Service;

/// <summary>
/// The models under the models directory (each subfolder with a model_index.json), and the one loaded pipeline:
/// a device holds one model at a time, so asking for another frees the first. Used on the engine thread only.
/// </summary>
public sealed class ModelCatalog(GpuServiceOptions options) : IDisposable
{
    private (string Id, IDiffusionPipeline Pipeline)? loaded;

    public string ModelsDirectory => options.ModelsDirectory;

    public IReadOnlyList<ModelInfo> List()
    {
        var result = new List<ModelInfo>();
        foreach (var dir in Directory.EnumerateDirectories(options.ModelsDirectory).Order(StringComparer.Ordinal))
        {
            if (!File.Exists(Path.Combine(dir, "model_index.json"))) continue;
            try
            {
                var index = ModelIndex.Load(dir);
                var trainable = index.ClassName is SdxlPipeline.ClassName or FluxPipeline.ClassName;
                result.Add(new ModelInfo
                {
                    ModelId = Path.GetFileName(dir), PipelineClass = index.ClassName, Trainable = trainable, NativeResolution = NativeResolution(dir),
                    ValidationPrompts = { PromptTemplates.DefaultValidation },
                    MaxRank = trainable ? PipelineLoader.MaxAdapterRank(dir) : 0,
                });
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                // a broken folder is not a model; it is reported when someone asks for it by id
            }
        }
        return result;
    }

    private static int NativeResolution(string dir)
    {
        try
        {
            return PipelineLoader.NativeResolution(dir);
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            return 1024;
        }
    }

    /// <summary>Whether <paramref name="modelId"/> names a model folder here (ids are folder names, never paths).</summary>
    public bool Exists(string modelId) =>
        !string.IsNullOrEmpty(modelId) && modelId.IndexOfAny(['/', '\\']) < 0 && modelId is not ("." or "..")
        && File.Exists(Path.Combine(options.ModelsDirectory, modelId, "model_index.json"));

    /// <summary>The pipeline of <paramref name="modelId"/>, loading it (and freeing any other) when needed;
    /// <paramref name="progress"/> hears the load's bytes, and nothing when no load happens.</summary>
    public IDiffusionPipeline Get(string modelId, IProgress<LoadProgress>? progress = null)
    {
        if (loaded is { } l && l.Id == modelId) return l.Pipeline;
        if (!Exists(modelId)) throw new KeyNotFoundException($"unknown model '{modelId}'");
        loaded?.Pipeline.Dispose();
        loaded = null;
        var pipeline = PipelineLoader.Load(Path.Combine(options.ModelsDirectory, modelId), options.WeightsDtype, options.TorchDevice, progress);
        loaded = (modelId, pipeline);
        return pipeline;
    }

    public void Dispose()
    {
        loaded?.Pipeline.Dispose();
        loaded = null;
    }
}
