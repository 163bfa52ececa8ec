using TLoRA.Engine.Adapters;

namespace TLoRA.GpuService.Jobs;

public enum JobKind { Train = 1, Sample = 2 }

public enum JobState
{
    Queued = 1,
    Running = 2,
    Completed = 3,
    Failed = 4,
    Cancelled = 5,
    /// <summary>The service stopped while the job ran; it resumes from its last checkpoint.</summary>
    Interrupted = 6,
}

/// <summary>
/// A job as the service keeps it: stored by <see cref="JobStore"/>, changed by the manager and the engine thread.
/// The gRPC edge maps it to the proto Job; nothing inside the service passes proto jobs around.
/// </summary>
public sealed class JobRecord
{
    public required string JobId { get; init; }
    public required JobKind Kind { get; init; }
    public JobState State { get; set; } = JobState.Queued;
    public DateTimeOffset Created { get; init; }
    public DateTimeOffset? Started { get; set; }
    public DateTimeOffset? Finished { get; set; }
    public int Step { get; set; }
    public int TotalSteps { get; set; }
    public string ModelId { get; set; } = "";
    /// <summary>The final adapter once completed; the newest checkpoint's before that.</summary>
    public string? AdapterId { get; set; }
    /// <summary>Why it failed, as its failed event says (safe to show).</summary>
    public string? Error { get; set; }
    public string? Trigger { get; init; }
    public string? ClassWord { get; init; }
    /// <summary>The adapter a training job trains (null for sampling).</summary>
    public AdapterMethod? Method { get; init; }
    /// <summary>Whose job it is (see <see cref="Caller"/>); only its owner and admins see it.</summary>
    public string Owner { get; init; } = Caller.AnonymousOwner;
    /// <summary>The newest stored event's sequence number (read with the record; 0 before the first event).</summary>
    public long LastSequence { get; set; }

    public bool IsFinished => State is JobState.Completed or JobState.Failed or JobState.Cancelled;
}
