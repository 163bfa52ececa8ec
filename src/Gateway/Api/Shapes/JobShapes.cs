namespace TLoRA.Gateway.Api;

// The REST and hub shapes of the gateway. These files are the one definition: the gateway maps protobuf messages to
// them (Api/JobMapping.cs, Api/JobEvents.cs) and the WebUI compiles the same files to read what the gateway sends.
// Nothing here may depend on the protobuf contracts or on ASP.NET Core.

/// <summary>A job: its state and progress; <c>LastSequence</c> is its newest event (join the hub after it);
/// <c>ServiceId</c> the GPU service that runs it (the prefix of its id); <c>Settings</c> every setting of a training
/// job (GET /api/jobs/{id} only; null in listings and for sampling jobs).</summary>
public sealed record JobDto(string JobId, string Kind, string State, int QueuePosition, DateTimeOffset? Created, DateTimeOffset? Started,
    DateTimeOffset? Finished, long LastSequence, int Step, int TotalSteps, string ModelId, string? AdapterId, string? Error, string? Trigger,
    string? ClassWord, string? Method, string ServiceId, TrainSettingsDto? Settings = null);

/// <summary>A training job's settings as it runs with them, the service's defaults applied (known while it is queued).
/// <c>Init</c> is "last", "middle" or "principal"; <c>CheckpointInterval</c> 0: only at the end.</summary>
public sealed record TrainSettingsDto(string? Method, int Rank, int MinRank, double Alpha, string Init, int Steps, int CheckpointInterval, ulong Seed,
    double LearningRate, int Resolution, IReadOnlyList<string> ValidationPrompts, int ImagesPerPrompt, int PreviewSteps, double PreviewGuidance,
    string Trigger, string ClassWord);

/// <summary>GET /api/train/defaults: what a training job's unset fields take (<c>Defaults</c>; resolution 0: the model's
/// native size; r_min: half the rank) and the limits the service checks its fields against.</summary>
public sealed record TrainDefaultsDto(TrainSettingsDto Defaults, int MaxSteps, int MaxImagesPerPrompt, int MaxPreviewSteps, int MaxValidationPrompts,
    double MaxPreviewGuidance, long MaxImageBytes, int MinImageSide, int MaxResolution);

/// <summary>The job states as REST spells them.</summary>
public static class JobStates
{
    public const string Queued = "queued", Running = "running", Completed = "completed", Failed = "failed", Cancelled = "cancelled",
        Interrupted = "interrupted", Unknown = "unknown";

    public static bool IsFinished(string state) => state is Completed or Failed or Cancelled or Interrupted;
}

/// <summary>The adapter methods as REST spells them.</summary>
public static class Methods
{
    public const string TLoRA = "tlora", VanillaTLoRA = "vanilla-tlora", LoRA = "lora";
}

/// <summary>A model a service offers; <c>ValidationPrompts</c> is the paper's validation set ("{0}": "trigger class"),
/// of which a training job without prompts uses the first two. Models with the same <c>PipelineClass</c> share a
/// family: an adapter trained on one loads on the others.</summary>
public sealed record ModelDto(string ModelId, string PipelineClass, int NativeResolution, bool Trainable, IReadOnlyList<string> ValidationPrompts, int MaxRank);

/// <summary>One GPU service as the gateway sees it: its position in Gateway:Services ("service-1"), health, the id its
/// jobs carry, queued plus running jobs. Never its address or error text: those are for the log.</summary>
public sealed record ServiceHealthDto(string Name, string Status, DateTimeOffset? CheckedAt, string? ServiceId, int? Load);

public sealed record HealthDto(string Status, string Gateway, IReadOnlyList<ServiceHealthDto> Services);

/// <summary>POST /api/samples (absent fields take the service's defaults; adapterScale 0 switches the adapter off,
/// guidanceScale 0 or 1 turns guidance off).</summary>
public sealed record SampleBody(string? ModelId, string? AdapterId, string[]? Prompts, string? NegativePrompt, double? GuidanceScale, int? Steps,
    ulong? Seed, int? Width, int? Height, int? ImagesPerPrompt, double? AdapterScale);

/// <summary>GET /api/adapters/{id}/inspect: the adapter's settings, a summary and (with <c>layers=true</c>) every
/// adapted layer: singular values of ΔW and of B (up / P), ΔW's effective rank at 95 % of the singular-value sum, and
/// the orthogonality errors ‖QQᵀ − I‖_F and ‖PᵀP − I‖_F.</summary>
public sealed record InspectDto(AdapterInfoDto Adapter, InspectSummaryDto Summary, IReadOnlyList<LayerInspectionDto> Layers);

public sealed record AdapterInfoDto(string AdapterId, string? Method, int Rank, int MinRank, double Alpha, string BaseModel, string Trigger,
    string ClassWord, int Steps, ulong Seed, long SizeBytes);

public sealed record InspectSummaryDto(int Layers, double MeanEffectiveRank, double MeanQOrthogonalityError, double MeanPOrthogonalityError,
    IReadOnlyDictionary<string, double> MeanEffectiveRankByBlock);

public sealed record LayerInspectionDto(string Layer, string Block, int Rank, IReadOnlyList<double> DeltaSingularValues,
    IReadOnlyList<double> UpSingularValues, int EffectiveRank, double QOrthogonalityError, double POrthogonalityError);
