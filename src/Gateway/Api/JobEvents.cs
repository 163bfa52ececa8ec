using TLoRA.Contracts.V1;

namespace TLoRA.Gateway.Api;

/// <summary>tlora.v1.JobEvent to the gateway's event shapes: one switch over the oneof.</summary>
public static class JobEvents
{
    private const string Queued = JobEventTypes.Queued, TrainStarted = JobEventTypes.TrainStarted, TrainStep = JobEventTypes.TrainStep,
        TrainPreviews = JobEventTypes.TrainPreviews, TrainCheckpoint = JobEventTypes.TrainCheckpoint, TrainCompleted = JobEventTypes.TrainCompleted,
        SampleStarted = JobEventTypes.SampleStarted, SampleStep = JobEventTypes.SampleStep, SampleImage = JobEventTypes.SampleImage,
        SampleCompleted = JobEventTypes.SampleCompleted, Failed = JobEventTypes.Failed, Cancelled = JobEventTypes.Cancelled,
        Interrupted = JobEventTypes.Interrupted, Resumed = JobEventTypes.Resumed, Preparing = JobEventTypes.Preparing;

    public static bool IsTerminal(JobEvent e) => e.EventCase is JobEvent.EventOneofCase.TrainCompleted or JobEvent.EventOneofCase.SampleCompleted
        or JobEvent.EventOneofCase.Failed or JobEvent.EventOneofCase.Cancelled;

    /// <summary>The event's type, without building its data.</summary>
    public static string Type(JobEvent e) => e.EventCase switch
    {
        JobEvent.EventOneofCase.Queued => Queued,
        JobEvent.EventOneofCase.TrainStarted => TrainStarted,
        JobEvent.EventOneofCase.TrainStep => TrainStep,
        JobEvent.EventOneofCase.TrainPreviews => TrainPreviews,
        JobEvent.EventOneofCase.TrainCheckpoint => TrainCheckpoint,
        JobEvent.EventOneofCase.TrainCompleted => TrainCompleted,
        JobEvent.EventOneofCase.SampleStarted => SampleStarted,
        JobEvent.EventOneofCase.SampleStep => SampleStep,
        JobEvent.EventOneofCase.SampleImage => SampleImage,
        JobEvent.EventOneofCase.SampleCompleted => SampleCompleted,
        JobEvent.EventOneofCase.Failed => Failed,
        JobEvent.EventOneofCase.Cancelled => Cancelled,
        JobEvent.EventOneofCase.Interrupted => Interrupted,
        JobEvent.EventOneofCase.Resumed => Resumed,
        JobEvent.EventOneofCase.Preparing => Preparing,
        _ => "unknown",
    };

    public static JobEventDto ToDto(JobEvent e) => new(e.JobId, e.Sequence, e.Time?.ToDateTimeOffset(), Type(e), IsTerminal(e), Data(e));

    public static JobActivityDto ToActivity(JobEvent e) => new(e.JobId, e.Sequence, e.Time?.ToDateTimeOffset(), Type(e), IsTerminal(e));

    private static object Data(JobEvent e)
    {
        switch (e.EventCase)
        {
            case JobEvent.EventOneofCase.Queued:
                return new QueuedData(e.Queued.Position);
            case JobEvent.EventOneofCase.TrainStarted:
                var s = e.TrainStarted;
                return new TrainStartedData(s.TotalSteps, s.StartStep, Method(s.Method), s.Rank, s.MinRank, s.Alpha, NullIfEmpty(s.Prompt),
                    s.AdaptedLayers, s.TrainableParameters);
            case JobEvent.EventOneofCase.TrainStep:
                var t = e.TrainStep;
                return new TrainStepData(t.Step, t.TotalSteps, t.Loss, t.Timestep, t.Rank, t.LearningRate, t.StepsPerSecond, t.EtaSeconds);
            case JobEvent.EventOneofCase.TrainPreviews:
                var p = e.TrainPreviews;
                return new TrainPreviewsData(p.Step, p.Index, p.Count, p.DenoisingStep, p.DenoisingSteps);
            case JobEvent.EventOneofCase.TrainCheckpoint:
                var k = e.TrainCheckpoint;
                return new TrainCheckpointData(k.Step, k.AdapterId, AdapterUrl(k.AdapterId),
                    k.Previews.Select(v => Preview(v.Prompt, v.Index, v.ImageId, v.ThumbnailPng.ToByteArray(), v.Width, v.Height)).ToArray());
            case JobEvent.EventOneofCase.TrainCompleted:
                var c = e.TrainCompleted;
                return new TrainCompletedData(c.AdapterId, AdapterUrl(c.AdapterId), c.Steps, c.FinalLoss, c.Summary?.MeanEffectiveRank, c.ElapsedSeconds);
            case JobEvent.EventOneofCase.SampleStarted:
                return new SampleStartedData(e.SampleStarted.Images, e.SampleStarted.Steps, e.SampleStarted.Prompts);
            case JobEvent.EventOneofCase.SampleStep:
                var q = e.SampleStep;
                return new SampleStepData(q.PromptIndex, q.Step, q.Steps, q.Timestep);
            case JobEvent.EventOneofCase.SampleImage:
                var i = e.SampleImage;
                return new SampleImageData(Preview(i.Prompt, i.Index, i.ImageId, i.ThumbnailPng.ToByteArray(), i.Width, i.Height));
            case JobEvent.EventOneofCase.SampleCompleted:
                return new SampleCompletedData([.. e.SampleCompleted.ImageIds], e.SampleCompleted.ElapsedSeconds);
            case JobEvent.EventOneofCase.Failed:
                return new FailedData(e.Failed.Code, e.Failed.Message);
            case JobEvent.EventOneofCase.Cancelled:
                return new CancelledData(e.Cancelled.Step, NullIfEmpty(e.Cancelled.LastAdapterId));
            case JobEvent.EventOneofCase.Interrupted:
                return new InterruptedData(e.Interrupted.Step, NullIfEmpty(e.Interrupted.LastAdapterId));
            case JobEvent.EventOneofCase.Resumed:
                return new ResumedData(e.Resumed.FromStep, e.Resumed.InterruptedStep);
            case JobEvent.EventOneofCase.Preparing:
                var r = e.Preparing;
                return new PreparingData(Stage(r.Stage), r.Done, r.Total);
            default:
                return new FailedData(2, "an event of a kind this gateway does not know");
        }
    }

    public static string ImageUrl(string imageId) => $"/api/images/{Uri.EscapeDataString(imageId)}";

    public static string AdapterUrl(string adapterId) => $"/api/adapters/{Uri.EscapeDataString(adapterId)}";

    private static PreviewDto Preview(string prompt, int index, string imageId, byte[] png, int width, int height) =>
        new(prompt, index, imageId, ImageUrl(imageId), png.Length > 0 ? "data:image/png;base64," + Convert.ToBase64String(png) : null, width, height);

    public static string? Method(AdapterMethod m) => m switch
    {
        AdapterMethod.Tlora => Methods.TLoRA,
        AdapterMethod.VanillaTlora => Methods.VanillaTLoRA,
        AdapterMethod.Lora => Methods.LoRA,
        _ => null,
    };

    private static string? Stage(PreparingStage s) => s switch
    {
        PreparingStage.LoadingModel => PreparingStages.LoadingModel,
        PreparingStage.InitialisingAdapter => PreparingStages.InitialisingAdapter,
        _ => null,
    };

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
}
