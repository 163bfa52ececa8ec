namespace TLoRA.Gateway.Api;

/// <summary>
/// A job event as REST (GET /api/jobs/{id}/events) and the hub (client method "event") send it: the envelope of
/// tlora.v1.JobEvent (job, sequence, time), its type — the name of the proto oneof case in camelCase, one of
/// <see cref="JobEventTypes"/> — whether it is the job's last event, and the data of that type (one of the records
/// below; a reader gets it as JSON and binds it by <c>Type</c>).
/// </summary>
public sealed record JobEventDto(string JobId, long Sequence, DateTimeOffset? Time, string Type, bool Final, object Data);

public sealed record QueuedData(int Position);
/// <summary>The service took the job and is getting it ready: <c>Stage</c> is one of <see cref="PreparingStages"/>
/// (null for a stage this gateway does not know); <c>Done</c> of <c>Total</c> units: for loadingModel bytes of the
/// model's weights read, for initialisingAdapter the projections whose T-LoRA weights are initialised.</summary>
public sealed record PreparingData(string? Stage, long Done, long Total);
public sealed record TrainStartedData(int TotalSteps, int StartStep, string? Method, int Rank, int MinRank, double Alpha, string? Prompt,
    int AdaptedLayers, long TrainableParameters);
public sealed record TrainStepData(int Step, int TotalSteps, double Loss, double Timestep, int Rank, double LearningRate, double StepsPerSecond,
    double EtaSeconds);
/// <summary>Rendering preview <c>Index</c> of <c>Count</c> of the checkpoint at <c>Step</c>, denoising step
/// <c>DenoisingStep</c> of <c>DenoisingSteps</c>.</summary>
public sealed record TrainPreviewsData(int Step, int Index, int Count, int DenoisingStep, int DenoisingSteps);
public sealed record PreviewDto(string Prompt, int Index, string ImageId, string ImageUrl, string? ThumbnailDataUrl, int Width, int Height);
public sealed record TrainCheckpointData(int Step, string AdapterId, string AdapterUrl, IReadOnlyList<PreviewDto> Previews);
public sealed record TrainCompletedData(string AdapterId, string AdapterUrl, int Steps, double FinalLoss, double? MeanEffectiveRank,
    double ElapsedSeconds);
public sealed record SampleStartedData(int Images, int Steps, int Prompts);
public sealed record SampleStepData(int PromptIndex, int Step, int Steps, double Timestep);
public sealed record SampleImageData(PreviewDto Image);
public sealed record SampleCompletedData(IReadOnlyList<string> ImageIds, double ElapsedSeconds);
public sealed record FailedData(int Code, string Message);
public sealed record CancelledData(int Step, string? LastAdapterId);
/// <summary>The service stopped under the job after <c>Step</c>; POST /api/jobs/{id}/resume continues it.</summary>
public sealed record InterruptedData(int Step, string? LastAdapterId);
/// <summary>The job runs again from its checkpoint at <c>FromStep</c>: the steps after it come again and replace the
/// ones sent before the interruption (up to <c>InterruptedStep</c>).</summary>
public sealed record ResumedData(int FromStep, int InterruptedStep);

/// <summary>What the "jobs:all" hub group receives (client method "activity") for every event of every job: enough
/// for a dashboard to show all jobs live and fetch details when it needs them.</summary>
public sealed record JobActivityDto(string JobId, long Sequence, DateTimeOffset? Time, string Type, bool Final);

/// <summary>The stages of a <see cref="JobEventTypes.Preparing"/> event, in the order a job goes through them.</summary>
public static class PreparingStages
{
    public const string LoadingModel = "loadingModel", InitialisingAdapter = "initialisingAdapter";
}

/// <summary>The event types (<see cref="JobEventDto.Type"/>) and the hub's names.</summary>
public static class JobEventTypes
{
    public const string Queued = "queued", TrainStarted = "trainStarted", TrainStep = "trainStep", TrainPreviews = "trainPreviews",
        TrainCheckpoint = "trainCheckpoint", TrainCompleted = "trainCompleted", SampleStarted = "sampleStarted", SampleStep = "sampleStep",
        SampleImage = "sampleImage", SampleCompleted = "sampleCompleted", Failed = "failed", Cancelled = "cancelled",
        Interrupted = "interrupted", Resumed = "resumed", Preparing = "preparing";

    /// <summary>The types a job's events end with.</summary>
    public static readonly IReadOnlySet<string> FinalTypes = new HashSet<string> { TrainCompleted, SampleCompleted, Failed, Cancelled };

    /// <summary>The hub's path and its client methods.</summary>
    public const string HubPath = "/hubs/jobs", EventMethod = "event", ActivityMethod = "activity";
}
