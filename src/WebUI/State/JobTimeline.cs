using TLoRA.Rpc.V1;

namespace TLoRA.WebUI.State;

public sealed record StepPoint(int Step, double Loss, double SmoothedLoss, double Timestep, int Rank);

public sealed record PreviewImage(string Prompt, int Index, string ImageId, string? ThumbnailDataUrl, int Width, int Height);

public sealed record CheckpointView(int Step, string AdapterId, IReadOnlyList<PreviewImage> Previews);

/// <summary>
/// A job as its page shows it, folded from its events in sequence order. The page seeds it from the job record, then
/// applies the stored history and the live events; an event whose sequence it has already applied is ignored, so
/// replays that overlap (reconnects, reloads) never show a step twice.
/// </summary>
public sealed class JobTimeline
{
    /// <summary>Smoothing of the loss curve: an exponential moving average with this weight on the newest step.</summary>
    public const double SmoothingWeight = 0.1;

    private readonly List<StepPoint> steps = [];
    private readonly List<CheckpointView> checkpoints = [];
    private readonly List<PreviewImage> samples = [];
    private readonly Lock sync = new();

    public JobTimeline(string jobId) => JobId = jobId;

    public string JobId { get; }
    public JobKind Kind { get; private set; }
    public JobState State { get; private set; } = JobState.Queued;
    public long LastSequence { get; private set; }
    public int QueuePosition { get; private set; }
    public int Step { get; private set; }
    public int TotalSteps { get; private set; }
    public double? StepsPerSecond { get; private set; }
    public double? EtaSeconds { get; private set; }
    public string? AdapterId { get; private set; }
    public string? Error { get; private set; }
    public string ModelId { get; private set; } = "";
    public string? Trigger { get; private set; }
    public string? ClassWord { get; private set; }
    public AdapterMethod Method { get; private set; }
    public int Rank { get; private set; }
    public int MinRank { get; private set; }
    public double Alpha { get; private set; }
    public string? Prompt { get; private set; }
    public double? ElapsedSeconds { get; private set; }
    public double? MeanEffectiveRank { get; private set; }
    public DateTimeOffset? Created { get; private set; }

    // Events arrive on a background thread while the page renders: lists are handed out as copies.
    public IReadOnlyList<StepPoint> Steps { get { lock (sync) return steps.ToArray(); } }
    public IReadOnlyList<CheckpointView> Checkpoints { get { lock (sync) return checkpoints.ToArray(); } }
    public IReadOnlyList<PreviewImage> Samples { get { lock (sync) return samples.ToArray(); } }

    /// <summary>The newest step, if any.</summary>
    public StepPoint? LastStep { get { lock (sync) return steps.Count > 0 ? steps[^1] : null; } }

    public bool IsFinished => State is JobState.Completed or JobState.Failed or JobState.Cancelled or JobState.Interrupted;

    /// <summary>Progress in [0, 1] (0 while queued).</summary>
    public double Progress => TotalSteps > 0 ? Math.Clamp((double)Step / TotalSteps, 0, 1) : State == JobState.Completed ? 1 : 0;

    /// <summary>Takes what the job record knows (state, words, model); events applied later refine it. A listing that
    /// only follows live events passes <paramref name="current"/> so that events older than the record are ignored.</summary>
    public void Seed(Job job, bool current = false)
    {
        lock (sync) SeedLocked(job, current);
    }

    private void SeedLocked(Job job, bool current)
    {
        Kind = job.Kind;
        ModelId = job.ModelId;
        Trigger = NullIfEmpty(job.Trigger);
        ClassWord = NullIfEmpty(job.ClassWord);
        Method = job.Method;
        Created = job.Created?.ToDateTimeOffset();
        if (LastSequence == 0)
        {
            State = job.State;
            QueuePosition = job.QueuePosition;
            Step = job.Step;
            TotalSteps = job.TotalSteps;
            AdapterId = NullIfEmpty(job.AdapterId);
            Error = NullIfEmpty(job.Error);
            if (current) LastSequence = job.LastSequence;
        }
    }

    /// <summary>Applies one event; false when it is not this job's or was already applied.</summary>
    public bool Apply(JobEvent e)
    {
        var (jobId, seq) = e.EventCase switch
        {
            JobEvent.EventOneofCase.Train => (e.Train.JobId, e.Train.Sequence),
            JobEvent.EventOneofCase.Sample => (e.Sample.JobId, e.Sample.Sequence),
            _ => ("", 0L),
        };
        lock (sync)
        {
            if (jobId != JobId || seq <= LastSequence) return false;
            LastSequence = seq;
            if (e.EventCase == JobEvent.EventOneofCase.Train) Apply(e.Train);
            else Apply(e.Sample);
            return true;
        }
    }

    private void Apply(TrainEvent e)
    {
        Kind = JobKind.Train;
        switch (e.EventCase)
        {
            case TrainEvent.EventOneofCase.Queued:
                Queued(e.Queued.Position);
                break;
            case TrainEvent.EventOneofCase.Started:
                State = JobState.Running;
                QueuePosition = 0;
                TotalSteps = e.Started.TotalSteps;
                Step = e.Started.StartStep;
                Method = e.Started.Method;
                Rank = e.Started.Rank;
                MinRank = e.Started.MinRank;
                Alpha = e.Started.Alpha;
                Prompt = NullIfEmpty(e.Started.Prompt);
                // A resumed job replays its steps from the checkpoint on: forget the steps after it.
                steps.RemoveAll(p => p.Step > e.Started.StartStep);
                break;
            case TrainEvent.EventOneofCase.Step:
                var s = e.Step;
                State = JobState.Running;
                Step = s.Step;
                TotalSteps = s.TotalSteps;
                StepsPerSecond = s.StepsPerSecond > 0 ? s.StepsPerSecond : StepsPerSecond;
                EtaSeconds = s.EtaSeconds;
                var smoothed = steps.Count == 0 ? s.Loss : steps[^1].SmoothedLoss + SmoothingWeight * (s.Loss - steps[^1].SmoothedLoss);
                steps.Add(new StepPoint(s.Step, s.Loss, smoothed, s.Timestep, s.Rank));
                break;
            case TrainEvent.EventOneofCase.Checkpoint:
                AdapterId = e.Checkpoint.AdapterId;
                checkpoints.Add(new CheckpointView(e.Checkpoint.Step, e.Checkpoint.AdapterId,
                    e.Checkpoint.Previews.Select(p => Preview(p.Prompt, p.Index, p.ImageId, p.ThumbnailPng, p.Width, p.Height)).ToArray()));
                break;
            case TrainEvent.EventOneofCase.Completed:
                State = JobState.Completed;
                AdapterId = e.Completed.AdapterId;
                Step = e.Completed.Steps;
                EtaSeconds = 0;
                ElapsedSeconds = e.Completed.ElapsedSeconds;
                MeanEffectiveRank = e.Completed.Summary?.MeanEffectiveRank;
                break;
            case TrainEvent.EventOneofCase.Failed:
                Failed(e.Failed.Message);
                break;
            case TrainEvent.EventOneofCase.Cancelled:
                State = JobState.Cancelled;
                Step = e.Cancelled.Step;
                AdapterId = NullIfEmpty(e.Cancelled.LastAdapterId) ?? AdapterId;
                EtaSeconds = null;
                break;
        }
    }

    private void Apply(SampleEvent e)
    {
        Kind = JobKind.Sample;
        switch (e.EventCase)
        {
            case SampleEvent.EventOneofCase.Queued:
                Queued(e.Queued.Position);
                break;
            case SampleEvent.EventOneofCase.Started:
                State = JobState.Running;
                QueuePosition = 0;
                TotalSteps = Math.Max(1, e.Started.Prompts) * e.Started.Steps;
                break;
            case SampleEvent.EventOneofCase.Step:
                State = JobState.Running;
                Step = e.Step.PromptIndex * e.Step.Steps + e.Step.Step;
                break;
            case SampleEvent.EventOneofCase.Image:
                var i = e.Image;
                samples.Add(Preview(i.Prompt, i.Index, i.ImageId, i.Png, i.Width, i.Height));
                break;
            case SampleEvent.EventOneofCase.Completed:
                State = JobState.Completed;
                Step = TotalSteps;
                ElapsedSeconds = e.Completed.ElapsedSeconds;
                break;
            case SampleEvent.EventOneofCase.Failed:
                Failed(e.Failed.Message);
                break;
            case SampleEvent.EventOneofCase.Cancelled:
                State = JobState.Cancelled;
                break;
        }
    }

    // The event kinds both job families share (the two proto oneofs have their own case enums).
    private void Queued(int position)
    {
        State = JobState.Queued;
        QueuePosition = position;
    }

    private void Failed(string message)
    {
        State = JobState.Failed;
        Error = message;
        EtaSeconds = null;
    }

    private static PreviewImage Preview(string prompt, int index, string imageId, Google.Protobuf.ByteString png, int width, int height) =>
        new(prompt, index, imageId, png.Length > 0 ? "data:image/png;base64," + png.ToBase64() : null, width, height);

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
}
