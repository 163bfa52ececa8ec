using TLoRA.Contracts.V1;
using TLoRA.Engine.IO;
using TLoRA.Engine.Pipelines;
using TLoRA.GpuService.Service;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.GpuService.Jobs;

/// <summary>Checks requests before anything is queued; a refusal names every bad field (proto field names).</summary>
public static class RequestValidation
{
    public const int MinImageSide = 64;
    public const int MaxSteps = 100_000;
    public const int MaxSampleSteps = 1000;
    public const int MaxImagesPerPrompt = 16;
    public const int MaxPreviewSteps = 200;
    public const int MaxValidationPrompts = 32;
    public const int MaxPrompts = 64;
    public const int MaxSide = 4096;

    /// <summary>Checks a training request; fills in the default model. Throws <see cref="JobRequestException"/>.</summary>
    public static void Check(TrainRequest r, GpuServiceOptions options, ModelCatalog catalog)
    {
        var problems = new List<FieldProblem>();
        void Check(bool ok, string field, string message)
        {
            if (!ok) problems.Add(new FieldProblem(field, message));
        }
        var model = CheckModel(r.ModelId, catalog, mustTrain: true, problems);
        if (model is not null) r.ModelId = model.ModelId;
        if (r.Image.IsEmpty) problems.Add(new FieldProblem("image", "required (PNG or JPEG bytes)"));
        else if (r.Image.Length > options.MaxImageBytes)
            problems.Add(new FieldProblem("image", $"{r.Image.Length} bytes is over the limit of {options.MaxImageBytes}"));
        else if (CheckImage(r.Image.Span) is { } imageProblem) problems.Add(new FieldProblem("image", imageProblem));
        Check(r.Rank >= 0, "rank", $"must be positive, got {r.Rank}");
        var rank = r.Rank > 0 ? r.Rank : new Engine.Training.TrainingOptions().Rank;
        if (model is not null && r.Rank >= 0)
        {
            var maxRank = model.MaxRank;
            Check(rank <= maxRank, "rank", $"{rank} exceeds the model's attention dims (at most {maxRank})");
        }
        Check(r.MinRank >= 0 && r.MinRank <= rank, "min_rank", $"must be in 1..rank ({rank}), got {r.MinRank}");
        Check(r.Alpha >= 0 && double.IsFinite(r.Alpha), "alpha", $"must be positive, got {r.Alpha}");
        Check(r.Steps is >= 0 and <= MaxSteps, "steps", $"must be in 1..{MaxSteps}, got {r.Steps}");
        Check(r.LearningRate is >= 0 and < 1, "learning_rate", $"must be in (0, 1), got {r.LearningRate}");
        Check(r.Resolution >= 0 && r.Resolution % 8 == 0 && r.Resolution <= MaxSide, "resolution",
            $"must be a multiple of 8 up to {MaxSide}, got {r.Resolution}");
        Check(!r.HasCheckpointInterval || r.CheckpointInterval >= 0, "checkpoint_interval",
            $"must be ≥ 0 (0: only at the end), got {r.CheckpointInterval}");
        Check(r.ImagesPerPrompt is >= 0 and <= MaxImagesPerPrompt, "images_per_prompt", $"must be in 1..{MaxImagesPerPrompt}, got {r.ImagesPerPrompt}");
        Check(r.PreviewSteps is >= 0 and <= MaxPreviewSteps, "preview_steps", $"must be in 1..{MaxPreviewSteps}, got {r.PreviewSteps}");
        Check(!r.HasPreviewGuidance || (r.PreviewGuidance >= 0 && double.IsFinite(r.PreviewGuidance)), "preview_guidance",
            $"must be ≥ 0, got {r.PreviewGuidance}");
        Check(r.ValidationPrompts.Count <= MaxValidationPrompts, "validation_prompts", $"at most {MaxValidationPrompts}, got {r.ValidationPrompts.Count}");
        if (problems.Count > 0) throw JobRequestException.Invalid(problems);
    }

    /// <summary>Checks a sampling request; fills in the default model. Throws <see cref="JobRequestException"/>.</summary>
    public static void Check(SampleRequest r, ModelCatalog catalog, JobStore store)
    {
        var problems = new List<FieldProblem>();
        void Check(bool ok, string field, string message)
        {
            if (!ok) problems.Add(new FieldProblem(field, message));
        }
        var model = CheckModel(r.ModelId, catalog, mustTrain: false, problems);
        if (model is not null) r.ModelId = model.ModelId;
        if (r.Prompts.Count == 0 || r.Prompts.Any(string.IsNullOrWhiteSpace)) problems.Add(new FieldProblem("prompts", "give at least one non-empty prompt"));
        else Check(r.Prompts.Count <= MaxPrompts, "prompts", $"at most {MaxPrompts}, got {r.Prompts.Count}");
        if (!string.IsNullOrEmpty(r.AdapterId))
        {
            var path = store.ArtifactPath(r.AdapterId, "adapter");
            if (path is null) problems.Add(new FieldProblem("adapter_id", $"unknown adapter '{r.AdapterId}'"));
            else Check(File.Exists(path), "adapter_id", $"adapter '{r.AdapterId}' is recorded but its file is gone");
        }
        Check(r.Steps is >= 0 and <= MaxSampleSteps, "steps", $"must be in 1..{MaxSampleSteps}, got {r.Steps}");
        foreach (var (name, v) in new[] { ("width", r.Width), ("height", r.Height) })
            Check(v >= 0 && v % 8 == 0 && v <= MaxSide, name, $"must be a multiple of 8 up to {MaxSide}, got {v}");
        Check(r.ImagesPerPrompt is >= 0 and <= MaxImagesPerPrompt, "images_per_prompt", $"must be in 1..{MaxImagesPerPrompt}, got {r.ImagesPerPrompt}");
        Check(!r.HasGuidanceScale || (r.GuidanceScale >= 0 && double.IsFinite(r.GuidanceScale)), "guidance_scale",
            $"must be ≥ 0, got {r.GuidanceScale}");
        Check(!r.HasAdapterScale || double.IsFinite(r.AdapterScale), "adapter_scale", $"must be a finite number, got {r.AdapterScale}");
        if (problems.Count > 0) throw JobRequestException.Invalid(problems);
    }

    /// <summary>Decodes the image to check it; the problem, or null when it is usable.</summary>
    private static string? CheckImage(ReadOnlySpan<byte> image)
    {
        using var scope = torch.NewDisposeScope();
        Tensor decoded;
        try
        {
            decoded = ImageLoader.Decode(image, "image", 1);
        }
        catch (ImageLoadException e)
        {
            return e.Message;
        }
        var side = Math.Min(decoded.size(0), decoded.size(1));
        return side < MinImageSide
            ? $"{decoded.size(1)}×{decoded.size(0)} is too small: the shorter side must be at least {MinImageSide} px"
            : null;
    }

    private static ModelInfo? CheckModel(string modelId, ModelCatalog catalog, bool mustTrain, List<FieldProblem> problems)
    {
        var models = catalog.List();
        if (string.IsNullOrEmpty(modelId))
        {
            var first = models.FirstOrDefault(m => m.Trainable);
            if (first is null) problems.Add(new FieldProblem("model_id", "required: no default model is installed"));
            return first;
        }
        var model = models.FirstOrDefault(m => m.ModelId == modelId);
        if (model is null)
        {
            problems.Add(new FieldProblem("model_id", $"unknown model '{modelId}' (have: {string.Join(", ", models.Select(m => m.ModelId))})"));
            return null;
        }
        if (mustTrain && !model.Trainable)
        {
            problems.Add(new FieldProblem("model_id", $"'{modelId}' ({model.PipelineClass}) cannot be trained by this service yet"));
            return null;
        }
        return model;
    }
}
