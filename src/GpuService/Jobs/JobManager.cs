using System.Collections.Concurrent;
using Google.Protobuf;
using TLoRA.Contracts.V1;
using TLoRA.Engine.Training;
using TLoRA.GpuService.Service;

namespace TLoRA.GpuService.Jobs;

/// <summary>
/// Accepts, queues, cancels and resumes jobs. Requests are checked before anything is queued (INVALID_ARGUMENT naming
/// every bad field); accepted jobs are stored with their request and a queued event. The engine worker runs them.
/// Job ids start with the service's id ("gpu-0.train-3f9a1c2b7d4e") so that a gateway finds a job's owner by its id.
/// </summary>
public sealed class JobManager(JobStore store, JobEventBus bus, JobQueue queue, GpuServiceOptions options, ModelCatalog catalog,
    ServiceIdentity identity, JobPaths paths)
{
    private readonly ConcurrentDictionary<string, CancellationTokenSource> cancellations = new();
    private readonly ConcurrentDictionary<string, bool> resumes = new();
    private readonly ConcurrentDictionary<string, string> owners = new();
    private readonly object gate = new();
    private int running;

    public JobStore Store => store;
    public JobEventBus Bus => bus;
    public JobQueue Queue => queue;
    public string ServiceId => identity.Id;

    /// <summary>A job is running, or in the engine thread's hand about to start (so the service's load never reads 0
    /// between the queue and the start).</summary>
    public bool IsRunning => Volatile.Read(ref running) > 0 || queue.InHand > 0;

    /// <summary>Checks and queues a training job owned by <paramref name="caller"/> (default: the anonymous owner).</summary>
    public JobRecord SubmitTrain(TrainRequest request, Caller? caller = null)
    {
        RequestValidation.Check(request, options, catalog);
        var job = NewJob(JobKind.Train, request.ModelId, request.Trigger, request.ClassWord, RequestMapping.ToEngine(request.Method), caller);
        job.TotalSteps = request.Steps > 0 ? request.Steps : new TrainingOptions().Steps;
        var queued = Enqueue(job, request);
        KeepConceptImage(queued.JobId, request.Image.Span);
        return queued;
    }

    /// <summary>The id of a training job's concept image (an "image" artifact: DownloadImage serves it to the job's owner).</summary>
    public static string ConceptImageId(string jobId) => $"{jobId}-concept";

    /// <summary>Keeps the concept image as the client sent it (checked: a PNG, JPEG or WebP within MaxImageBytes) in the job's
    /// folder, so it outlives the stored request (which drops it once the job has ended) and goes with the job.</summary>
    private void KeepConceptImage(string jobId, ReadOnlySpan<byte> image)
    {
        var folder = paths.ImagesDirectory(jobId);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, image is [0x89, 0x50, ..] ? "concept.png" : "concept.jpg");
        File.WriteAllBytes(path, image);
        store.AddArtifact(ConceptImageId(jobId), "image", path, jobId);
    }

    /// <summary>Checks and queues a sampling job owned by <paramref name="caller"/>, who must see its adapter.</summary>
    public JobRecord SubmitSample(SampleRequest request, Caller? caller = null)
    {
        RequestValidation.Check(request, catalog, store, options, caller ?? Caller.Anonymous);
        var job = NewJob(JobKind.Sample, request.ModelId, null, null, null, caller);
        // every prompt is denoised in turn: a job's steps run over all of them (2 prompts × 25 steps = 50), so the
        // total is known when queued and never jumps
        job.TotalSteps = (request.Steps > 0 ? request.Steps : new Engine.Pipelines.SampleOptions([]).Steps) * Math.Max(1, request.Prompts.Count);
        return Enqueue(job, request);
    }

    private JobRecord NewJob(JobKind kind, string modelId, string? trigger, string? classWord, Engine.Adapters.AdapterMethod? method,
        Caller? caller)
    {
        var prefix = kind == JobKind.Train ? "train" : "sample";
        return new JobRecord
        {
            JobId = $"{identity.Id}.{prefix}-{Guid.NewGuid():N}"[..(identity.Id.Length + prefix.Length + 14)], Kind = kind,
            Created = JobStore.Now(), ModelId = modelId, Trigger = trigger, ClassWord = classWord, Method = method,
            Owner = (caller ?? Caller.Anonymous).Owner,
        };
    }

    private JobRecord Enqueue(JobRecord job, IMessage request)
    {
        lock (gate)
        {
            if (queue.Count >= queue.Capacity) throw QueueFull();
            if (store.ActiveJobs(job.Owner) >= options.MaxActiveJobsPerOwner)
                throw new JobRequestException(JobError.ResourceExhausted, $"you have {options.MaxActiveJobsPerOwner} jobs queued or running, the " +
                    $"limit per owner ({GpuServiceOptions.Section}:MaxActiveJobsPerOwner); wait for one to end or cancel one");
            store.Create(job, request);
            if (!queue.TryEnqueue(job.JobId, out var position)) throw QueueFull();
            bus.Publish(job.JobId, new JobEvent { Queued = new Queued { Position = position } });
            job.LastSequence = 1;
        }
        return job;
    }

    private JobRequestException QueueFull() =>
        new(JobError.ResourceExhausted, $"the job queue is full ({queue.Capacity} jobs waiting); try again later");

    /// <summary>The job's record, or NOT_FOUND (also when <paramref name="caller"/>, default the service, may not see it).</summary>
    public JobRecord Get(string jobId, Caller? caller = null) =>
        store.Get(jobId) is { } job && (caller ?? Caller.Service).Sees(job) ? job : throw JobRequestException.NotFound($"no job '{SafeText.Id(jobId)}'");

    /// <summary>A queued job (waiting, or taken by the engine thread but not started) is cancelled at once; a running
    /// one stops at its next step (its runner reports it). The engine thread starts a job under the same lock
    /// (<see cref="TryStart"/>), so a job is always either still cancellable here or already running.</summary>
    public JobRecord Cancel(string jobId, Caller? caller = null)
    {
        lock (gate)
        {
            var job = Get(jobId, caller);
            if (job.State is JobState.Queued or JobState.Interrupted)
            {
                queue.TryRemove(jobId);
                resumes.TryRemove(jobId, out _);
                job.State = JobState.Cancelled;
                job.Finished = JobStore.Now();
                store.Update(job);
                bus.Publish(jobId, new JobEvent { Cancelled = new Cancelled { Step = job.Step, LastAdapterId = job.AdapterId ?? "" } });
                DropRequestImage(job);
                return Get(jobId);
            }
            if (job.State == JobState.Running && cancellations.TryGetValue(jobId, out var cts))
            {
                cts.Cancel();
                return job;
            }
            throw new JobRequestException(JobError.FailedPrecondition, $"job '{SafeText.Id(jobId)}' is {Name(job.State)} and cannot be cancelled");
        }
    }

    /// <summary>Starts a job the engine thread took from the queue: stored as running with its cancellation registered,
    /// under the lock <see cref="Cancel"/> takes. Null when the job is no longer queued (cancelled meanwhile).</summary>
    internal (JobRecord Job, CancellationTokenSource Cancellation, bool Resume)? TryStart(string jobId, CancellationToken shutdown)
    {
        lock (gate)
        {
            var job = store.Get(jobId);
            if (job is null || job.State != JobState.Queued) return null;
            var resume = resumes.TryRemove(jobId, out _);
            var cts = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
            cancellations[jobId] = cts;
            Interlocked.Increment(ref running);
            job.State = JobState.Running;
            job.Started ??= JobStore.Now();
            store.Update(job);
            return (job, cts, resume);
        }
    }

    /// <summary>Queues an interrupted training job again; it continues from its last checkpoint and event sequence.</summary>
    public JobRecord Resume(string jobId, Caller? caller = null)
    {
        var job = Get(jobId, caller);
        if (job.State != JobState.Interrupted)
            throw new JobRequestException(JobError.FailedPrecondition, $"job '{SafeText.Id(jobId)}' is {Name(job.State)}; only interrupted jobs resume");
        if (job.Kind != JobKind.Train)
            throw new JobRequestException(JobError.FailedPrecondition, $"job '{SafeText.Id(jobId)}' is a sampling job; submit it again instead");
        lock (gate)
        {
            if (queue.Count >= queue.Capacity) throw QueueFull();
            // Stored as queued (and marked a resume) before it is enqueued: the engine thread may take it at once, and
            // it skips a job whose stored state is not Queued.
            resumes[jobId] = true;
            job.State = JobState.Queued;
            store.Update(job);
            if (!queue.TryEnqueue(jobId, out var position))
            {
                resumes.TryRemove(jobId, out _);
                job.State = JobState.Interrupted;
                store.Update(job);
                throw QueueFull();
            }
            bus.Publish(jobId, new JobEvent { Queued = new Queued { Position = position } });
        }
        return Get(jobId);
    }

    /// <summary>After a restart: running jobs become interrupted (resumable, with an <c>interrupted</c> event, so
    /// that watchers learn it), queued ones are queued again in order.</summary>
    public void Recover()
    {
        foreach (var job in store.List(int.MaxValue, state: JobState.Running)) Interrupted(job);
        foreach (var job in store.List(int.MaxValue, state: JobState.Queued).OrderBy(j => j.Created))
            queue.TryEnqueue(job.JobId, out _);
    }

    /// <summary>Removes an ended or interrupted job: its folder (adapters, checkpoints, images), then its record,
    /// events and artifacts (a crash between the two leaves a record whose files are gone, which a second delete
    /// finishes). Returns the bytes freed on disk.</summary>
    public long Delete(string jobId, Caller? caller = null)
    {
        lock (gate)
        {
            var job = Get(jobId, caller);
            if (job.State is JobState.Queued or JobState.Running)
                throw new JobRequestException(JobError.FailedPrecondition, $"job '{SafeText.Id(jobId)}' is {Name(job.State)}: cancel it before deleting it");
            var folder = paths.JobDirectory(job.JobId);
            long freed = 0;
            if (Directory.Exists(folder))
            {
                freed = new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
                Directory.Delete(folder, recursive: true);
            }
            store.Delete(job.JobId);
            owners.TryRemove(job.JobId, out _);
            return freed;
        }
    }

    /// <summary>A training job's settings as it runs (or will run) with them, read from its stored request with the
    /// defaults applied; null for a sampling job. The caller has already been checked (<see cref="Get"/>).</summary>
    public TrainSettings? Settings(JobRecord job)
    {
        if (job.Kind != JobKind.Train) return null;
        var request = store.GetRequest(job.JobId, TrainRequest.Parser);
        var native = catalog.List().FirstOrDefault(m => m.ModelId == request.ModelId)?.NativeResolution ?? 0;
        return RequestMapping.ToSettings(RequestMapping.ToOptions(request, native));
    }

    /// <summary>Once a job has ended for good its stored request no longer needs the image (only an interrupted
    /// training job reads it again, to resume).</summary>
    internal void DropRequestImage(JobRecord job)
    {
        if (job.Kind != JobKind.Train) return;
        var request = store.GetRequest(job.JobId, TrainRequest.Parser);
        if (request.Image.IsEmpty && request.SubjectMask.IsEmpty) return;
        request.Image = ByteString.Empty;
        request.SubjectMask = ByteString.Empty;
        store.ReplaceRequest(job.JobId, request);
    }

    /// <summary>Stores the job as interrupted and publishes its <c>interrupted</c> event.</summary>
    internal void Interrupted(JobRecord job)
    {
        job.State = JobState.Interrupted;
        store.Update(job);
        bus.Publish(job.JobId, new JobEvent { Interrupted = new Contracts.V1.Interrupted { Step = job.Step, LastAdapterId = job.AdapterId ?? "" } });
    }

    internal void Ended(string jobId)
    {
        if (cancellations.TryRemove(jobId, out var cts)) cts.Dispose();
        Interlocked.Decrement(ref running);
    }

    /// <summary>The file of an artifact ("adapter" or "image") that <paramref name="caller"/> may see, or null.</summary>
    public string? ArtifactPath(string id, string kind, Caller caller)
    {
        var path = store.ArtifactPath(id, kind);
        if (path is null || caller.Admin) return path;
        return store.ArtifactJob(id, kind) is { } jobId && OwnerOf(jobId) == caller.Owner ? path : null;
    }

    /// <summary>The owner of a job (cached: owners never change), or null for an unknown job.</summary>
    public string? OwnerOf(string jobId)
    {
        if (owners.TryGetValue(jobId, out var owner)) return owner;
        if (store.Get(jobId) is not { } job) return null;
        return owners[jobId] = job.Owner;
    }

    /// <summary>"queued", "running", ... as messages say it.</summary>
    public static string Name(JobState state) => state.ToString().ToLowerInvariant();
}
