using TLoRA.Gateway.Api;
using static TLoRA.Gateway.Api.JobEventTypes;

namespace TLoRA.WebUI.State;

public sealed record StepPoint(int Step, double Loss, double SmoothedLoss, double Timestep, int Rank);

public sealed record CheckpointView(int Step, string AdapterId, string AdapterUrl, IReadOnlyList<PreviewDto> Previews);

/// <summary>Rendering preview <see cref="Index"/> of <see cref="Count"/> for the checkpoint at <see cref="Step"/>.</summary>
public sealed record PreviewProgress(int Step, int Index, int Count, int DenoisingStep, int DenoisingSteps)
{
    /// <summary>How far this checkpoint's previews are, in [0, 1] (Index is 1-based and moves by images per prompt).</summary>
    public double Fraction => Count <= 0 || DenoisingSteps <= 0 ? 0
        : Math.Clamp((Index - 1 + (double)DenoisingStep / DenoisingSteps) / Count, 0, 1);
}

/// <summary>
/// One job as its page shows it, folded from the gateway's events in sequence order: the page seeds it from the job
/// record, then applies the events the hub sends (history, then live). An event whose sequence was already applied is
/// ignored, so overlapping replays (a reconnect re-joins from the last applied sequence) never count a step twice.
/// Events arrive on the hub's thread while a circuit renders: reads of lists hand out copies.
/// </summary>
public sealed class JobLive(string jobId)
{
    /// <summary>Smoothing of the loss curve: an exponential moving average with this weight on the newest step.</summary>
    public const double SmoothingWeight = 0.1;

    private readonly List<StepPoint> steps = [];
    private readonly List<CheckpointView> checkpoints = [];
    private readonly List<PreviewDto> samples = [];
    private readonly Lock sync = new();
    private DateTimeOffset? lastStepTime;
    private DateTimeOffset? previewsStarted;
    private double? secondsPerStep;
    private readonly List<double> previewSeconds = [];
    private (string State, long Sequence)? seeded;

    public string JobId { get; } = jobId;
    public string Kind { get; private set; } = "train";
    public string State { get; private set; } = JobStates.Queued;
    public long LastSequence { get; private set; }
    public int QueuePosition { get; private set; }
    public int Step { get; private set; }
    public int TotalSteps { get; private set; }
    public double? StepsPerSecond { get; private set; }
    public string? AdapterId { get; private set; }
    public string? Error { get; private set; }
    public string ModelId { get; private set; } = "";
    public string? Trigger { get; private set; }
    public string? ClassWord { get; private set; }
    public string? Method { get; private set; }
    /// <summary>Every setting of a training job as the service applies them (from GET /api/jobs/{id}; known while queued).</summary>
    public TrainSettingsDto? Settings { get; private set; }
    /// <summary>Rank, r_min and α: the job's settings, then as its trainStarted event says (null when neither is known).</summary>
    public int? Rank { get; private set; }
    public int? MinRank { get; private set; }
    public double? Alpha { get; private set; }
    public string? Prompt { get; private set; }
    public int AdaptedLayers { get; private set; }
    public long TrainableParameters { get; private set; }
    public double? ElapsedSeconds { get; private set; }
    public double? FinalLoss { get; private set; }
    public double? MeanEffectiveRank { get; private set; }
    public DateTimeOffset? Created { get; private set; }
    /// <summary>Sample jobs: prompts and denoising steps per prompt (from sampleStarted).</summary>
    public int SamplePrompts { get; private set; }
    public int SampleImages { get; private set; }
    /// <summary>Steps between checkpoints: the job's settings, else learnt from the first checkpoint before the last step (0: not known).</summary>
    public int CheckpointInterval { get; set; }
    /// <summary>While a checkpoint's previews are rendered: which one and how far; null otherwise.</summary>
    public PreviewProgress? Previews { get; private set; }
    /// <summary>While the service gets the job ready (loading its model, initialising a T-LoRA adapter): which stage and
    /// how far; null once anything else happens.</summary>
    public PreparingData? Preparation { get; private set; }
    /// <summary>When the newest applied event left the GPU service.</summary>
    public DateTimeOffset? LastEventTime { get; private set; }

    public IReadOnlyList<StepPoint> Steps { get { lock (sync) return steps.ToArray(); } }
    public int StepCount { get { lock (sync) return steps.Count; } }
    public IReadOnlyList<CheckpointView> Checkpoints { get { lock (sync) return checkpoints.ToArray(); } }
    public IReadOnlyList<PreviewDto> Samples { get { lock (sync) return samples.ToArray(); } }
    public StepPoint? LastStep { get { lock (sync) return steps.Count > 0 ? steps[^1] : null; } }

    public bool IsTraining => Kind == "train";
    public bool IsFinished => JobStates.IsFinished(State);
    public bool CanCancel => State is JobStates.Queued or JobStates.Running;
    public bool CanResume => State == JobStates.Interrupted && IsTraining;

    /// <summary>Plain LoRA uses its whole rank at every timestep: it has no r(t) schedule to show.</summary>
    public bool HasRankSchedule => Method != Methods.LoRA;

    /// <summary>Progress in [0, 1].</summary>
    public double Progress => State == JobStates.Completed ? 1 : TotalSteps > 0 ? Math.Clamp((double)Step / TotalSteps, 0, 1) : 0;

    /// <summary>Measured mean time of a checkpoint's previews (null before the first one finished).</summary>
    public double? PreviewSecondsPerCheckpoint { get { lock (sync) return previewSeconds.Count > 0 ? previewSeconds.Average() : null; } }

    /// <summary>Seconds left, preview rendering included (<see cref="Eta"/>); null when not running or not yet known.</summary>
    public double? EtaSeconds
    {
        get
        {
            lock (sync)
            {
                if (State != JobStates.Running || !IsTraining) return null;
                var perStep = secondsPerStep ?? (StepsPerSecond is > 0 ? 1 / StepsPerSecond.Value : (double?)null);
                if (perStep is not { } s) return null;
                return Eta.Seconds(Step, TotalSteps, s, CheckpointInterval, previewSeconds.Count > 0 ? previewSeconds.Average() : null, Previews?.Fraction);
            }
        }
    }

    /// <summary>Takes what the job record knows; events applied later refine it (fields they carry win).</summary>
    public void Seed(JobDto job)
    {
        lock (sync)
        {
            Kind = job.Kind;
            ModelId = job.ModelId;
            Trigger = job.Trigger;
            ClassWord = job.ClassWord;
            Method ??= job.Method;
            Created = job.Created;
            if (job.Settings is { } settings)
            {
                Settings = settings;
                Rank ??= settings.Rank;
                MinRank ??= settings.MinRank;
                Alpha ??= settings.Alpha;
                if (CheckpointInterval == 0) CheckpointInterval = settings.CheckpointInterval;
            }
            // the record may say "interrupted" as of a later event than this state has seen (or, for jobs stored before
            // the service emitted an `interrupted` event, with no event of its own)
            seeded = job.State == JobStates.Interrupted ? (job.State, job.LastSequence) : null;
            if (seeded is not null && LastSequence >= job.LastSequence) State = job.State;
            if (LastSequence > 0) return;
            State = job.State;
            QueuePosition = job.QueuePosition;
            Step = job.Step;
            TotalSteps = job.TotalSteps;
            AdapterId = job.AdapterId;
            Error = job.Error;
        }
    }

    /// <summary>Applies one event; false when it is another job's or was already applied (a replay).</summary>
    public bool Apply(JobEventDto e)
    {
        lock (sync)
        {
            if (e.JobId != JobId || e.Sequence <= LastSequence) return false;
            LastSequence = e.Sequence;
            LastEventTime = e.Time ?? LastEventTime;
            ApplyLocked(e);
            if (seeded is { } record && e.Sequence == record.Sequence) State = record.State;
            return true;
        }
    }

    private void ApplyLocked(JobEventDto e)
    {
        if (e.Type != Preparing) Preparation = null; // the job moved on: started, failed, cancelled, queued again
        switch (e.Type)
        {
            case Preparing:
                // the service took the job off the queue: it runs, though no step is done yet
                State = JobStates.Running;
                QueuePosition = 0;
                Preparation = e.As<PreparingData>();
                break;
            case Queued:
                State = JobStates.Queued;
                QueuePosition = e.As<QueuedData>().Position;
                break;
            case TrainStarted:
                var started = e.As<TrainStartedData>();
                Kind = "train";
                State = JobStates.Running;
                QueuePosition = 0;
                TotalSteps = started.TotalSteps;
                Step = started.StartStep;
                Method = started.Method ?? Method;
                (Rank, MinRank, Alpha) = (started.Rank, started.MinRank, started.Alpha);
                Prompt = started.Prompt;
                (AdaptedLayers, TrainableParameters) = (started.AdaptedLayers, started.TrainableParameters);
                // a resumed job repeats the steps after its checkpoint: forget those
                steps.RemoveAll(p => p.Step > started.StartStep);
                checkpoints.RemoveAll(c => c.Step > started.StartStep);
                lastStepTime = null;
                break;
            case TrainStep:
                var s = e.As<TrainStepData>();
                State = JobStates.Running;
                if (lastStepTime is { } previous && e.Time is { } now && Previews is null && s.Step == Step + 1)
                {
                    var gap = (now - previous).TotalSeconds;
                    secondsPerStep = secondsPerStep is { } avg ? avg + 0.2 * (gap - avg) : gap;
                }
                lastStepTime = e.Time;
                Step = s.Step;
                TotalSteps = s.TotalSteps;
                StepsPerSecond = s.StepsPerSecond > 0 ? s.StepsPerSecond : StepsPerSecond;
                Previews = null;
                // a step sent again after a resume replaces the one sent before the interruption (and those after it)
                steps.RemoveAll(x => x.Step >= s.Step);
                var smoothed = steps.Count == 0 ? s.Loss : steps[^1].SmoothedLoss + SmoothingWeight * (s.Loss - steps[^1].SmoothedLoss);
                steps.Add(new StepPoint(s.Step, s.Loss, smoothed, s.Timestep, s.Rank));
                break;
            case TrainPreviews:
                var p = e.As<TrainPreviewsData>();
                previewsStarted ??= lastStepTime ?? e.Time;
                Previews = new PreviewProgress(p.Step, p.Index, p.Count, p.DenoisingStep, p.DenoisingSteps);
                break;
            case TrainCheckpoint:
                var k = e.As<TrainCheckpointData>();
                if (previewsStarted is { } from && e.Time is { } to && Previews is not null) previewSeconds.Add(Math.Max(0, (to - from).TotalSeconds));
                previewsStarted = null;
                Previews = null;
                lastStepTime = e.Time;
                AdapterId = k.AdapterId;
                if (CheckpointInterval == 0 && checkpoints.Count == 0 && k.Step < TotalSteps) CheckpointInterval = k.Step;
                checkpoints.RemoveAll(c => c.Step == k.Step);
                checkpoints.Add(new CheckpointView(k.Step, k.AdapterId, k.AdapterUrl, k.Previews));
                break;
            case TrainCompleted:
                var c = e.As<TrainCompletedData>();
                State = JobStates.Completed;
                AdapterId = c.AdapterId;
                Step = c.Steps;
                TotalSteps = Math.Max(TotalSteps, c.Steps);
                ElapsedSeconds = c.ElapsedSeconds;
                FinalLoss = c.FinalLoss;
                MeanEffectiveRank = c.MeanEffectiveRank;
                Previews = null;
                break;
            case SampleStarted:
                var ss = e.As<SampleStartedData>();
                Kind = "sample";
                State = JobStates.Running;
                QueuePosition = 0;
                (SamplePrompts, SampleImages) = (ss.Prompts, ss.Images);
                TotalSteps = Math.Max(1, ss.Prompts) * ss.Steps;
                Step = 0;
                break;
            case SampleStep:
                var q = e.As<SampleStepData>();
                State = JobStates.Running;
                Step = Math.Max(Step, q.PromptIndex * q.Steps + q.Step);
                break;
            case SampleImage:
                samples.Add(e.As<SampleImageData>().Image);
                break;
            case SampleCompleted:
                State = JobStates.Completed;
                Step = TotalSteps;
                ElapsedSeconds = e.As<SampleCompletedData>().ElapsedSeconds;
                break;
            case Failed:
                State = JobStates.Failed;
                Error = e.As<FailedData>().Message;
                Previews = null;
                break;
            case Interrupted:
                var i = e.As<InterruptedData>();
                State = JobStates.Interrupted;
                Step = i.Step;
                AdapterId = i.LastAdapterId ?? AdapterId;
                Previews = null;
                previewsStarted = null;
                lastStepTime = null;
                break;
            case Resumed:
                var r = e.As<ResumedData>();
                State = JobStates.Queued;
                Step = r.FromStep;
                steps.RemoveAll(p => p.Step > r.FromStep);
                checkpoints.RemoveAll(c => c.Step > r.FromStep);
                break;
            case Cancelled:
                var x = e.As<CancelledData>();
                State = JobStates.Cancelled;
                if (IsTraining) Step = x.Step;
                AdapterId = x.LastAdapterId ?? AdapterId;
                Previews = null;
                break;
        }
    }
}
