using TLoRA.Contracts.V1;

namespace TLoRA.WebUI.State;

public sealed record StepPoint(int Step, double Loss, double SmoothedLoss, double Timestep, int Rank);

public sealed record PreviewImage(string Prompt, int Index, string ImageId, string? ThumbnailDataUrl, int Width, int Height);

public sealed record CheckpointView(int Step, string AdapterId, IReadOnlyList<PreviewImage> Previews);

/// <summary>Rendering preview <see cref="Index"/> of <see cref="Count"/> for the checkpoint at <see cref="Step"/>.</summary>
public sealed record PreviewProgress(int Step, int Index, int Count, int DenoisingStep, int DenoisingSteps);

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
    /// <summary>While a checkpoint's previews are rendered: which one and how far; null otherwise.</summary>
    public PreviewProgress? Previews { get; private set; }

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
        lock (sync)
        {
            if (e.JobId != JobId || e.Sequence <= LastSequence) return false;
            LastSequence = e.Sequence;
            ApplyLocked(e);
            return true;
        }
    }

    private void ApplyLocked(JobEvent e)
    {
        switch (e.EventCase)
        {
            case JobEvent.EventOneofCase.Queued:
                State = JobState.Queued;
                QueuePosition = e.Queued.Position;
                break;
            case JobEvent.EventOneofCase.TrainStarted:
                Kind = JobKind.Train;
                State = JobState.Running;
                QueuePosition = 0;
                TotalSteps = e.TrainStarted.TotalSteps;
                Step = e.TrainStarted.StartStep;
                Method = e.TrainStarted.Method;
                Rank = e.TrainStarted.Rank;
                MinRank = e.TrainStarted.MinRank;
                Alpha = e.TrainStarted.Alpha;
                Prompt = NullIfEmpty(e.TrainStarted.Prompt);
                // A resumed job replays its steps from the checkpoint on: forget the steps after it.
                steps.RemoveAll(p => p.Step > e.TrainStarted.StartStep);
                break;
            case JobEvent.EventOneofCase.TrainStep:
                Kind = JobKind.Train;
                var s = e.TrainStep;
                State = JobState.Running;
                Step = s.Step;
                TotalSteps = s.TotalSteps;
                StepsPerSecond = s.StepsPerSecond > 0 ? s.StepsPerSecond : StepsPerSecond;
                EtaSeconds = s.EtaSeconds;
                Previews = null;
                // A step sent again after a resume replaces the one sent before the interruption (and those after it).
                steps.RemoveAll(x => x.Step >= s.Step);
                var smoothed = steps.Count == 0 ? s.Loss : steps[^1].SmoothedLoss + SmoothingWeight * (s.Loss - steps[^1].SmoothedLoss);
                steps.Add(new StepPoint(s.Step, s.Loss, smoothed, s.Timestep, s.Rank));
                break;
            case JobEvent.EventOneofCase.TrainPreviews:
                Kind = JobKind.Train;
                var p = e.TrainPreviews;
                Previews = new PreviewProgress(p.Step, p.Index, p.Count, p.DenoisingStep, p.DenoisingSteps);
                break;
            case JobEvent.EventOneofCase.TrainCheckpoint:
                Kind = JobKind.Train;
                Previews = null;
                AdapterId = e.TrainCheckpoint.AdapterId;
                checkpoints.Add(new CheckpointView(e.TrainCheckpoint.Step, e.TrainCheckpoint.AdapterId,
                    e.TrainCheckpoint.Previews.Select(v => Preview(v.Prompt, v.Index, v.ImageId, v.ThumbnailPng, v.Width, v.Height)).ToArray()));
                break;
            case JobEvent.EventOneofCase.TrainCompleted:
                Kind = JobKind.Train;
                State = JobState.Completed;
                AdapterId = e.TrainCompleted.AdapterId;
                Step = e.TrainCompleted.Steps;
                EtaSeconds = 0;
                ElapsedSeconds = e.TrainCompleted.ElapsedSeconds;
                MeanEffectiveRank = e.TrainCompleted.Summary?.MeanEffectiveRank;
                break;
            case JobEvent.EventOneofCase.SampleStarted:
                Kind = JobKind.Sample;
                State = JobState.Running;
                QueuePosition = 0;
                TotalSteps = Math.Max(1, e.SampleStarted.Prompts) * e.SampleStarted.Steps;
                break;
            case JobEvent.EventOneofCase.SampleStep:
                Kind = JobKind.Sample;
                State = JobState.Running;
                Step = e.SampleStep.PromptIndex * e.SampleStep.Steps + e.SampleStep.Step;
                break;
            case JobEvent.EventOneofCase.SampleImage:
                Kind = JobKind.Sample;
                var i = e.SampleImage;
                samples.Add(Preview(i.Prompt, i.Index, i.ImageId, i.ThumbnailPng, i.Width, i.Height));
                break;
            case JobEvent.EventOneofCase.SampleCompleted:
                Kind = JobKind.Sample;
                State = JobState.Completed;
                Step = TotalSteps;
                ElapsedSeconds = e.SampleCompleted.ElapsedSeconds;
                break;
            case JobEvent.EventOneofCase.Failed:
                State = JobState.Failed;
                Error = e.Failed.Message;
                EtaSeconds = null;
                Previews = null;
                break;
            case JobEvent.EventOneofCase.Interrupted:
                State = JobState.Interrupted;
                EtaSeconds = null;
                Previews = null;
                break;
            case JobEvent.EventOneofCase.Resumed:
                State = JobState.Queued;
                Step = e.Resumed.FromStep;
                steps.RemoveAll(p => p.Step > e.Resumed.FromStep);
                checkpoints.RemoveAll(c => c.Step > e.Resumed.FromStep);
                break;
            case JobEvent.EventOneofCase.Cancelled:
                State = JobState.Cancelled;
                if (Kind != JobKind.Sample) Step = e.Cancelled.Step;
                AdapterId = NullIfEmpty(e.Cancelled.LastAdapterId) ?? AdapterId;
                EtaSeconds = null;
                Previews = null;
                break;
        }
    }

    private static PreviewImage Preview(string prompt, int index, string imageId, Google.Protobuf.ByteString png, int width, int height) =>
        new(prompt, index, imageId, png.Length > 0 ? "data:image/png;base64," + png.ToBase64() : null, width, height);

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
}
