using TLoRA.Rpc.V1;

namespace TLoRA.Gateway;

public sealed record PreviewDto(string Prompt, int Index, string ImageId, string ImageUrl, string? ThumbnailDataUrl, int Width, int Height);

public sealed record QueuedDto(string JobId, long Sequence, DateTimeOffset? Time, int Position);
public sealed record StartedDto(string JobId, long Sequence, DateTimeOffset? Time, int TotalSteps, int StartStep, string? Method, int Rank, int MinRank, double Alpha, string? Prompt);
public sealed record StepDto(string JobId, long Sequence, DateTimeOffset? Time, int Step, int TotalSteps, double? Loss, double Timestep, int? Rank, double? StepsPerSecond, double? EtaSeconds, int? PromptIndex);
public sealed record CheckpointDto(string JobId, long Sequence, DateTimeOffset? Time, int Step, string AdapterId, IReadOnlyList<PreviewDto> Previews);
public sealed record SampleDto(string JobId, long Sequence, DateTimeOffset? Time, PreviewDto Image);
public sealed record DoneDto(string JobId, long Sequence, DateTimeOffset? Time, string? AdapterId, int Steps, double? FinalLoss, double? MeanEffectiveRank, IReadOnlyList<string> ImageIds, double ElapsedSeconds);
public sealed record FailedDto(string JobId, long Sequence, DateTimeOffset? Time, int Code, string Message);
public sealed record CancelledDto(string JobId, long Sequence, DateTimeOffset? Time, int Step, string? LastAdapterId);

/// <summary>A job event as REST returns it: the hub method name, the sequence and the payload.</summary>
public sealed record EventEnvelope(string Type, long Sequence, object Data);

/// <summary>Maps tlora.v1 events to the small DTOs the hub and REST send; the type is the hub's client method name.</summary>
public static class JobEvents
{
    public const string Queued = "queued", Started = "started", Step = "step", Checkpoint = "checkpoint", Sample = "sample",
        Done = "done", Failed = "failed", Cancelled = "cancelled";

    public static long Sequence(JobEvent e) => e.EventCase == JobEvent.EventOneofCase.Train ? e.Train.Sequence : e.Sample?.Sequence ?? 0;

    public static bool IsTerminal(string type) => type is Done or Failed or Cancelled;

    /// <summary>The event's type as <see cref="ToDto(JobEvent)"/> names it, without building its payload.</summary>
    public static string Type(JobEvent e) => e.EventCase switch
    {
        JobEvent.EventOneofCase.Train => e.Train.EventCase switch
        {
            TrainEvent.EventOneofCase.Queued => Queued,
            TrainEvent.EventOneofCase.Started => Started,
            TrainEvent.EventOneofCase.Step => Step,
            TrainEvent.EventOneofCase.Checkpoint => Checkpoint,
            TrainEvent.EventOneofCase.Completed => Done,
            TrainEvent.EventOneofCase.Cancelled => Cancelled,
            _ => Failed,
        },
        JobEvent.EventOneofCase.Sample => e.Sample.EventCase switch
        {
            SampleEvent.EventOneofCase.Queued => Queued,
            SampleEvent.EventOneofCase.Started => Started,
            SampleEvent.EventOneofCase.Step => Step,
            SampleEvent.EventOneofCase.Image => Sample,
            SampleEvent.EventOneofCase.Completed => Done,
            SampleEvent.EventOneofCase.Cancelled => Cancelled,
            _ => Failed,
        },
        _ => Failed,
    };

    public static EventEnvelope ToDto(JobEvent e) => e.EventCase == JobEvent.EventOneofCase.Train ? ToDto(e.Train) : ToDto(e.Sample);

    public static string ImageUrl(string imageId) => $"/api/images/{Uri.EscapeDataString(imageId)}";

    private static EventEnvelope ToDto(TrainEvent e)
    {
        var (id, seq, t) = (e.JobId, e.Sequence, e.Time?.ToDateTimeOffset());
        return e.EventCase switch
        {
            TrainEvent.EventOneofCase.Queued => new(Queued, seq, new QueuedDto(id, seq, t, e.Queued.Position)),
            TrainEvent.EventOneofCase.Started => new(Started, seq, new StartedDto(id, seq, t, e.Started.TotalSteps, e.Started.StartStep, Method(e.Started.Method),
                e.Started.Rank, e.Started.MinRank, e.Started.Alpha, e.Started.Prompt)),
            TrainEvent.EventOneofCase.Step => new(Step, seq, new StepDto(id, seq, t, e.Step.Step, e.Step.TotalSteps, e.Step.Loss, e.Step.Timestep, e.Step.Rank,
                e.Step.StepsPerSecond, e.Step.EtaSeconds, null)),
            TrainEvent.EventOneofCase.Checkpoint => new(Checkpoint, seq, new CheckpointDto(id, seq, t, e.Checkpoint.Step, e.Checkpoint.AdapterId,
                e.Checkpoint.Previews.Select(p => Preview(p.Prompt, p.Index, p.ImageId, p.ThumbnailPng.ToByteArray(), p.Width, p.Height)).ToArray())),
            TrainEvent.EventOneofCase.Completed => new(Done, seq, new DoneDto(id, seq, t, e.Completed.AdapterId, e.Completed.Steps, e.Completed.FinalLoss,
                e.Completed.Summary?.MeanEffectiveRank, [], e.Completed.ElapsedSeconds)),
            TrainEvent.EventOneofCase.Failed => new(Failed, seq, new FailedDto(id, seq, t, e.Failed.Code, e.Failed.Message)),
            TrainEvent.EventOneofCase.Cancelled => new(Cancelled, seq, new CancelledDto(id, seq, t, e.Cancelled.Step, NullIfEmpty(e.Cancelled.LastAdapterId))),
            _ => new(Failed, seq, new FailedDto(id, seq, t, 2, $"unknown event {e.EventCase}")),
        };
    }

    private static EventEnvelope ToDto(SampleEvent e)
    {
        var (id, seq, t) = (e.JobId, e.Sequence, e.Time?.ToDateTimeOffset());
        return e.EventCase switch
        {
            SampleEvent.EventOneofCase.Queued => new(Queued, seq, new QueuedDto(id, seq, t, e.Queued.Position)),
            SampleEvent.EventOneofCase.Started => new(Started, seq, new StartedDto(id, seq, t, e.Started.Steps, 0, null, 0, 0, 0, null)),
            SampleEvent.EventOneofCase.Step => new(Step, seq, new StepDto(id, seq, t, e.Step.Step, e.Step.Steps, null, e.Step.Timestep, null, null, null, e.Step.PromptIndex)),
            SampleEvent.EventOneofCase.Image => new(Sample, seq, new SampleDto(id, seq, t,
                Preview(e.Image.Prompt, e.Image.Index, e.Image.ImageId, e.Image.Png.ToByteArray(), e.Image.Width, e.Image.Height))),
            SampleEvent.EventOneofCase.Completed => new(Done, seq, new DoneDto(id, seq, t, null, 0, null, null, [.. e.Completed.ImageIds], e.Completed.ElapsedSeconds)),
            SampleEvent.EventOneofCase.Failed => new(Failed, seq, new FailedDto(id, seq, t, e.Failed.Code, e.Failed.Message)),
            SampleEvent.EventOneofCase.Cancelled => new(Cancelled, seq, new CancelledDto(id, seq, t, e.Cancelled.Step, NullIfEmpty(e.Cancelled.LastAdapterId))),
            _ => new(Failed, seq, new FailedDto(id, seq, t, 2, $"unknown event {e.EventCase}")),
        };
    }

    private static PreviewDto Preview(string prompt, int index, string imageId, byte[] png, int width, int height) =>
        new(prompt, index, imageId, ImageUrl(imageId), png.Length > 0 ? "data:image/png;base64," + Convert.ToBase64String(png) : null, width, height);

    public static string? Method(AdapterMethod m) => m switch
    {
        AdapterMethod.Tlora => "tlora",
        AdapterMethod.VanillaTlora => "vanilla-tlora",
        AdapterMethod.Lora => "lora",
        _ => null,
    };

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
}
