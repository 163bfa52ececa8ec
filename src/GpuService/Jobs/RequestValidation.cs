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
    /// <summary>Classifier-free guidance above this only burns the image out.</summary>
    public const double MaxGuidance = 50;
    /// <summary>An adapter's delta scaled beyond this (either sign) only burns the image out.</summary>
    public const double MaxAdapterScale = 10;

    /// <summary>The defaults a training request's unset fields take and the limits <see cref="Check(TrainRequest, GpuServiceOptions, ModelCatalog)"/>
    /// holds it to, for clients (ListModels): this class and <see cref="Engine.Training.TrainingOptions"/> are their one home.</summary>
    public static TrainDefaults TrainDefaults(GpuServiceOptions options) => new()
    {
        Defaults = RequestMapping.ToSettings(RequestMapping.ToOptions(new TrainRequest(), nativeResolution: 0)),
        MaxSteps = MaxSteps, MaxImagesPerPrompt = MaxImagesPerPrompt, MaxPreviewSteps = MaxPreviewSteps, MaxValidationPrompts = MaxValidationPrompts,
        MaxPreviewGuidance = MaxGuidance, MaxImageBytes = options.MaxImageBytes, MinImageSide = MinImageSide, MaxResolution = MaxSide,
    };

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
        ImageHeader? header = null;
        if (r.Image.IsEmpty) problems.Add(new FieldProblem("image", "required (PNG, JPEG or WebP bytes)"));
        else if (r.Image.Length > options.MaxImageBytes)
            problems.Add(new FieldProblem("image", $"{r.Image.Length} bytes is over the limit of {options.MaxImageBytes}"));
        else if (CheckImage(r.Image.Span, options, out header) is { } imageProblem) problems.Add(new FieldProblem("image", imageProblem));
        if (!r.SubjectMask.IsEmpty) CheckMask(r.SubjectMask.Span, header, options, problems);
        Check(Enum.IsDefined(r.Method), "method", $"unknown method {(int)r.Method} (1 T-LoRA, 2 Vanilla T-LoRA, 3 LoRA)");
        Check(Enum.IsDefined(r.Init), "init", $"unknown init {(int)r.Init} (1 last, 2 middle, 3 principal components)");
        Check(r.Rank >= 0, "rank", $"must be positive, got {r.Rank}");
        var rank = r.Rank > 0 ? r.Rank : new Engine.Training.TrainingOptions().Rank;
        if (model is not null && r.Rank >= 0)
        {
            var maxRank = model.MaxRank;
            Check(rank <= maxRank, "rank", $"{rank} exceeds the model's attention dims (at most {maxRank})");
        }
        Check(r.MinRank >= 0 && r.MinRank <= rank, "min_rank", $"must be in 1..rank ({rank}), got {r.MinRank}");
        Check(r.Alpha >= 0 && double.IsFinite(r.Alpha), "alpha", $"must be a finite positive number (0: the default), got {r.Alpha}");
        Check(r.Steps is >= 0 and <= MaxSteps, "steps", $"must be in 1..{MaxSteps}, got {r.Steps}");
        Check(r.LearningRate is >= 0 and < 1, "learning_rate", $"must be in (0, 1) (0: the default), got {r.LearningRate}");
        Check(r.Resolution >= 0 && r.Resolution % 8 == 0 && r.Resolution <= MaxSide, "resolution",
            $"must be a multiple of 8 up to {MaxSide}, got {r.Resolution}");
        Check(!r.HasCheckpointInterval || r.CheckpointInterval >= 0, "checkpoint_interval",
            $"must be ≥ 0 (0: only at the end), got {r.CheckpointInterval}");
        Check(r.ImagesPerPrompt is >= 0 and <= MaxImagesPerPrompt, "images_per_prompt", $"must be in 1..{MaxImagesPerPrompt}, got {r.ImagesPerPrompt}");
        Check(r.PreviewSteps is >= 0 and <= MaxPreviewSteps, "preview_steps", $"must be in 1..{MaxPreviewSteps}, got {r.PreviewSteps}");
        Check(!r.HasPreviewGuidance || r.PreviewGuidance is >= 0 and <= MaxGuidance, "preview_guidance",
            $"must be in 0..{MaxGuidance}, got {r.PreviewGuidance}");
        Check(r.ValidationPrompts.Count <= MaxValidationPrompts, "validation_prompts", $"at most {MaxValidationPrompts}, got {r.ValidationPrompts.Count}");
        if (problems.Count == 0 && model is not null)
        {
            var side = r.Resolution > 0 ? r.Resolution : model.NativeResolution;
            var defaults = new Engine.Training.TrainingOptions();
            var previews = MemoryBudget.Batch(r.ImagesPerPrompt > 0 ? r.ImagesPerPrompt : defaults.ImagesPerPrompt,
                r.HasPreviewGuidance ? r.PreviewGuidance : defaults.PreviewGuidance);
            // a training step keeps its activations for the backward pass: about three batches' worth
            if (MemoryBudget.Refusal(side, side, TrainingBatch, options.MemoryBudgetGB, "a training step") is { } step)
                problems.Add(new FieldProblem("resolution", step));
            else if (MemoryBudget.Refusal(side, side, previews, options.MemoryBudgetGB, "a checkpoint's previews") is { } preview)
                problems.Add(new FieldProblem("images_per_prompt", preview));
        }
        if (problems.Count > 0) throw JobRequestException.Invalid(problems);
    }

    /// <summary>Checks a sampling request; fills in the default model. Throws <see cref="JobRequestException"/>.</summary>
    /// <summary>A training step counted as this many images of a denoising batch (activations kept for backward).</summary>
    public const int TrainingBatch = 3;

    public static void Check(SampleRequest r, ModelCatalog catalog, JobStore store, GpuServiceOptions options, Caller? caller = null)
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
            var source = store.ArtifactJob(r.AdapterId, "adapter") is { } jobId ? store.Get(jobId) : null;
            if (path is null || (source is not null && !(caller ?? Caller.Service).Sees(source)))
                problems.Add(new FieldProblem("adapter_id", $"unknown adapter '{SafeText.Id(r.AdapterId)}'"));
            else if (!File.Exists(path)) problems.Add(new FieldProblem("adapter_id", $"adapter '{SafeText.Id(r.AdapterId)}' is recorded but its file is gone"));
            else if (model is not null && source is not null && catalog.List().FirstOrDefault(m => m.ModelId == source.ModelId) is { } trainedOn
                     && trainedOn.PipelineClass != model.PipelineClass)
                problems.Add(new FieldProblem("adapter_id", $"adapter '{SafeText.Id(r.AdapterId)}' was trained on {trainedOn.ModelId} " +
                    $"({trainedOn.PipelineClass}); it cannot be used with {model.ModelId} ({model.PipelineClass})"));
        }
        Check(r.Steps is >= 0 and <= MaxSampleSteps, "steps", $"must be in 1..{MaxSampleSteps}, got {r.Steps}");
        foreach (var (name, v) in new[] { ("width", r.Width), ("height", r.Height) })
            Check(v >= 0 && v % 8 == 0 && v <= MaxSide, name, $"must be a multiple of 8 up to {MaxSide}, got {v}");
        Check(r.ImagesPerPrompt is >= 0 and <= MaxImagesPerPrompt, "images_per_prompt", $"must be in 1..{MaxImagesPerPrompt}, got {r.ImagesPerPrompt}");
        Check(!r.HasGuidanceScale || r.GuidanceScale is >= 0 and <= MaxGuidance, "guidance_scale",
            $"must be in 0..{MaxGuidance}, got {r.GuidanceScale}");
        Check(!r.HasAdapterScale || r.AdapterScale is >= -MaxAdapterScale and <= MaxAdapterScale, "adapter_scale",
            $"must be in -{MaxAdapterScale}..{MaxAdapterScale}, got {r.AdapterScale}");
        if (problems.Count == 0 && model is not null)
        {
            var defaults = new SampleOptions([]);
            var batch = MemoryBudget.Batch(r.ImagesPerPrompt > 0 ? r.ImagesPerPrompt : defaults.ImagesPerPrompt,
                r.HasGuidanceScale ? r.GuidanceScale : defaults.GuidanceScale);
            if (MemoryBudget.Refusal(r.Width > 0 ? r.Width : model.NativeResolution, r.Height > 0 ? r.Height : model.NativeResolution, batch,
                    options.MemoryBudgetGB, "sampling") is { } refusal)
                problems.Add(new FieldProblem("width", refusal));
        }
        if (problems.Count > 0) throw JobRequestException.Invalid(problems);
    }

    /// <summary>Checks the image from its header alone (format, size, the decoded-pixel cap), so that nothing is
    /// allocated for its pixels at submit; the problem, or null when it is usable.</summary>
    private static string? CheckImage(ReadOnlySpan<byte> image, GpuServiceOptions options, out ImageHeader? header)
    {
        header = null;
        try
        {
            header = ImageCodec.ReadHeader(image);
        }
        catch (ImageFormatException e)
        {
            return $"cannot decode the image: {e.Message}";
        }
        var (w, h) = (header.UprightWidth, header.UprightHeight);
        if ((long)w * h > options.MaxImagePixels)
            return $"{w}×{h} is {(long)w * h / 1e6:0.#} megapixels, over this service's limit of {options.MaxImagePixels / 1e6:0.#} " +
                   $"({GpuServiceOptions.Section}:MaxImagePixels)";
        return Math.Min(w, h) < MinImageSide
            ? $"{w}×{h} is too small: the shorter side must be at least {MinImageSide} px"
            : null;
    }

    /// <summary>A subject mask: an image (PNG, JPEG or WebP) no larger than the image limit, of the concept image's size.</summary>
    private static void CheckMask(ReadOnlySpan<byte> mask, ImageHeader? image, GpuServiceOptions options, List<FieldProblem> problems)
    {
        if (mask.Length > options.MaxImageBytes)
        {
            problems.Add(new FieldProblem("subject_mask", $"{mask.Length} bytes is over the limit of {options.MaxImageBytes}"));
            return;
        }
        ImageHeader header;
        try
        {
            header = ImageCodec.ReadHeader(mask);
        }
        catch (ImageFormatException e)
        {
            problems.Add(new FieldProblem("subject_mask", $"cannot decode the mask (a PNG, white = subject): {e.Message}"));
            return;
        }
        if (image is not null && (header.UprightWidth, header.UprightHeight) != (image.UprightWidth, image.UprightHeight))
            problems.Add(new FieldProblem("subject_mask", $"is {header.UprightWidth}×{header.UprightHeight}; it must be the image's size, " +
                                                          $"{image.UprightWidth}×{image.UprightHeight}"));
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
