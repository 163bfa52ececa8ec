using TLoRA.Engine.IO;
using TLoRA.Engine.Pipelines;
using TLoRA.GpuService.Service;
using TLoRA.Rpc.V1;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.GpuService.Jobs;

/// <summary>Checks requests before anything is queued; every refusal names the request field.</summary>
public static class RequestValidation
{
    public const int MinImageSide = 64;

    public static void Check(TrainRequest r, GpuServiceOptions options, ModelCatalog catalog)
    {
        var model = CheckModel(r.ModelId, catalog, mustTrain: true);
        r.ModelId = model.ModelId;
        if (r.Image.IsEmpty) throw JobRequestException.Invalid("image", "required (PNG or JPEG bytes)");
        if (r.Image.Length > options.MaxImageBytes)
            throw JobRequestException.Invalid("image", $"{r.Image.Length} bytes is over the limit of {options.MaxImageBytes}");
        using (var scope = torch.NewDisposeScope())
        {
            Tensor decoded;
            try
            {
                decoded = ImageLoader.Decode(r.Image.Span, "image", 1);
            }
            catch (ImageLoadException e)
            {
                throw JobRequestException.Invalid("image", e.Message);
            }
            var side = Math.Min(decoded.size(0), decoded.size(1));
            if (side < MinImageSide)
                throw JobRequestException.Invalid("image", $"{decoded.size(1)}×{decoded.size(0)} is too small: the shorter side must be at least {MinImageSide} px");
        }
        if (r.Rank < 0) throw JobRequestException.Invalid("rank", $"must be positive, got {r.Rank}");
        var rank = r.Rank > 0 ? r.Rank : 64;
        var maxRank = MaxRank(catalog, model.ModelId);
        if (rank > maxRank) throw JobRequestException.Invalid("rank", $"{rank} exceeds the model's attention dims (at most {maxRank})");
        if (r.MinRank < 0 || r.MinRank > rank) throw JobRequestException.Invalid("min_rank", $"must be in 1..rank ({rank}), got {r.MinRank}");
        if (r.Alpha < 0) throw JobRequestException.Invalid("alpha", $"must be positive, got {r.Alpha}");
        if (r.Steps is < 0 or > 100_000) throw JobRequestException.Invalid("steps", $"must be in 1..100000, got {r.Steps}");
        if (r.LearningRate is < 0 or >= 1) throw JobRequestException.Invalid("learning_rate", $"must be in (0, 1), got {r.LearningRate}");
        if (r.Resolution < 0 || r.Resolution % 8 != 0 || r.Resolution > 4096)
            throw JobRequestException.Invalid("resolution", $"must be a multiple of 8 up to 4096, got {r.Resolution}");
        if (r.CheckpointInterval < 0) throw JobRequestException.Invalid("checkpoint_interval", $"must be ≥ 0, got {r.CheckpointInterval}");
        if (r.ImagesPerPrompt is < 0 or > 16) throw JobRequestException.Invalid("images_per_prompt", $"must be in 1..16, got {r.ImagesPerPrompt}");
        if (r.PreviewSteps is < 0 or > 200) throw JobRequestException.Invalid("preview_steps", $"must be in 1..200, got {r.PreviewSteps}");
        if (r.ValidationPrompts.Count > 32) throw JobRequestException.Invalid("validation_prompts", $"at most 32, got {r.ValidationPrompts.Count}");
    }

    public static void Check(SampleRequest r, GpuServiceOptions options, ModelCatalog catalog, JobStore store)
    {
        var model = CheckModel(r.ModelId, catalog, mustTrain: false);
        r.ModelId = model.ModelId;
        if (r.Prompts.Count == 0 || r.Prompts.Any(string.IsNullOrWhiteSpace)) throw JobRequestException.Invalid("prompts", "give at least one non-empty prompt");
        if (r.Prompts.Count > 64) throw JobRequestException.Invalid("prompts", $"at most 64, got {r.Prompts.Count}");
        if (!string.IsNullOrEmpty(r.AdapterId) && store.ArtifactPath(r.AdapterId, "adapter") is null)
            throw JobRequestException.Invalid("adapter_id", $"unknown adapter '{r.AdapterId}'");
        if (r.Steps is < 0 or > 1000) throw JobRequestException.Invalid("steps", $"must be in 1..1000, got {r.Steps}");
        foreach (var (name, v) in new[] { ("width", r.Width), ("height", r.Height) })
            if (v < 0 || v % 8 != 0 || v > 4096) throw JobRequestException.Invalid(name, $"must be a multiple of 8 up to 4096, got {v}");
        if (r.ImagesPerPrompt is < 0 or > 16) throw JobRequestException.Invalid("images_per_prompt", $"must be in 1..16, got {r.ImagesPerPrompt}");
        if (r.GuidanceScale < 0) throw JobRequestException.Invalid("guidance_scale", $"must be ≥ 0, got {r.GuidanceScale}");
    }

    private static ModelInfo CheckModel(string modelId, ModelCatalog catalog, bool mustTrain)
    {
        var models = catalog.List();
        if (string.IsNullOrEmpty(modelId))
            return models.FirstOrDefault(m => m.Trainable) ?? throw JobRequestException.Invalid("model_id", "required: no default model is installed");
        var model = models.FirstOrDefault(m => m.ModelId == modelId)
                    ?? throw JobRequestException.Invalid("model_id", $"unknown model '{modelId}' (have: {string.Join(", ", models.Select(m => m.ModelId))})");
        if (mustTrain && !model.Trainable) throw JobRequestException.Invalid("model_id", $"'{modelId}' ({model.PipelineClass}) cannot be trained by this service yet");
        return model;
    }

    private static int MaxRank(ModelCatalog catalog, string modelId) =>
        PipelineLoader.MaxAdapterRank(Path.Combine(catalog.ModelsDirectory, modelId));
}
