using System.Collections.Concurrent;
using Google.Protobuf;
using TLoRA.GpuService.Service;
using TLoRA.Rpc.V1;

namespace TLoRA.GpuService.Jobs;

/// <summary>
/// Accepts, queues, cancels and resumes jobs. Requests are checked before anything is queued (INVALID_ARGUMENT naming
/// the field); accepted jobs are stored with their request and a Queued event. The engine worker runs them.
/// </summary>
public sealed class JobManager(JobStore store, JobEventBus bus, JobQueue queue, GpuServiceOptions options, ModelCatalog catalog)
{
    private readonly ConcurrentDictionary<string, CancellationTokenSource> cancellations = new();
    private readonly ConcurrentDictionary<string, bool> resumes = new();

    public JobStore Store => store;
    public JobEventBus Bus => bus;
    public JobQueue Queue => queue;

    public Job SubmitTrain(TrainRequest request)
    {
        RequestValidation.Check(request, options, catalog);
        var job = NewJob("train", JobKind.Train, request.ModelId);
        job.Trigger = request.Trigger;
        job.ClassWord = request.ClassWord;
        job.Method = request.Method == Rpc.V1.AdapterMethod.Unspecified ? Rpc.V1.AdapterMethod.Tlora : request.Method;
        job.TotalSteps = request.Steps > 0 ? request.Steps : 800;
        return Enqueue(job, request);
    }

    public Job SubmitSample(SampleRequest request)
    {
        RequestValidation.Check(request, options, catalog, store);
        var job = NewJob("sample", JobKind.Sample, request.ModelId);
        job.TotalSteps = request.Steps > 0 ? request.Steps : 25;
        return Enqueue(job, request);
    }

    private static Job NewJob(string prefix, JobKind kind, string modelId) => new()
    {
        JobId = $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)], Kind = kind, State = JobState.Queued, Created = JobStore.Now(), ModelId = modelId,
    };

    private Job Enqueue(Job job, IMessage request)
    {
        lock (queue)
        {
            if (queue.Count >= queue.Capacity)
                throw new JobRequestException(JobError.ResourceExhausted, $"the job queue is full ({queue.Capacity} jobs waiting); try again later");
            store.Create(job, request);
            if (!queue.TryEnqueue(job.JobId, out var position))
                throw new JobRequestException(JobError.ResourceExhausted, $"the job queue is full ({queue.Capacity} jobs waiting)");
            job.QueuePosition = position;
            PublishQueued(job, position);
        }
        return job;
    }

    private void PublishQueued(Job job, int position) =>
        bus.Publish(job.JobId, seq => job.Kind == JobKind.Train
            ? new JobEvent { Train = new TrainEvent { JobId = job.JobId, Sequence = seq, Time = JobStore.Now(), Queued = new Queued { Position = position } } }
            : new JobEvent { Sample = new SampleEvent { JobId = job.JobId, Sequence = seq, Time = JobStore.Now(), Queued = new Queued { Position = position } } });

    /// <summary>The job with its live queue position.</summary>
    public Job Get(string jobId)
    {
        var job = store.Get(jobId) ?? throw new JobRequestException(JobError.NotFound, $"no job '{jobId}'");
        job.QueuePosition = job.State == JobState.Queued ? queue.PositionOf(jobId) : 0;
        return job;
    }

    /// <summary>A queued job is removed at once; a running one stops at its next step (its runner reports it).</summary>
    public Job Cancel(string jobId)
    {
        var job = Get(jobId);
        if (job.State == JobState.Queued && queue.TryRemove(jobId))
        {
            job.State = JobState.Cancelled;
            job.Finished = JobStore.Now();
            store.Update(job);
            bus.Publish(jobId, seq => Terminal(job, seq, new Cancelled { Step = job.Step, LastAdapterId = job.AdapterId }));
            return job;
        }
        if (job.State == JobState.Running && cancellations.TryGetValue(jobId, out var cts))
        {
            cts.Cancel();
            return job;
        }
        throw new JobRequestException(JobError.FailedPrecondition, $"job '{jobId}' is {job.State.ToString().ToLowerInvariant()} and cannot be cancelled");
    }

    /// <summary>Queues an interrupted training job again; it continues from its last checkpoint and event sequence.</summary>
    public Job Resume(string jobId)
    {
        var job = Get(jobId);
        if (job.State != JobState.Interrupted)
            throw new JobRequestException(JobError.FailedPrecondition, $"job '{jobId}' is {job.State.ToString().ToLowerInvariant()}; only interrupted jobs resume");
        if (job.Kind != JobKind.Train)
            throw new JobRequestException(JobError.FailedPrecondition, $"job '{jobId}' is a sampling job; submit it again instead");
        lock (queue)
        {
            if (queue.Count >= queue.Capacity)
                throw new JobRequestException(JobError.ResourceExhausted, $"the job queue is full ({queue.Capacity} jobs waiting)");
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
                throw new JobRequestException(JobError.ResourceExhausted, $"the job queue is full ({queue.Capacity} jobs waiting)");
            }
            job.QueuePosition = position;
            PublishQueued(job, position);
        }
        return job;
    }

    /// <summary>After a restart: running jobs become interrupted (resumable), queued ones are queued again in order.</summary>
    public void Recover()
    {
        foreach (var job in store.List(int.MaxValue, state: JobState.Running))
        {
            job.State = JobState.Interrupted;
            store.Update(job);
        }
        foreach (var job in store.List(int.MaxValue, state: JobState.Queued).OrderBy(j => j.Created.ToDateTime()))
            queue.TryEnqueue(job.JobId, out _);
    }

    internal CancellationTokenSource Started(string jobId, CancellationToken shutdown)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        cancellations[jobId] = cts;
        return cts;
    }

    internal void Ended(string jobId)
    {
        if (cancellations.TryRemove(jobId, out var cts)) cts.Dispose();
    }

    internal bool TakeResume(string jobId) => resumes.TryRemove(jobId, out _);

    /// <summary>The job's terminal event from its end message: Train/SampleCompleted, Cancelled or Failed.</summary>
    internal static JobEvent Terminal(Job job, long seq, IMessage end)
    {
        if (job.Kind == JobKind.Train)
        {
            var t = new TrainEvent { JobId = job.JobId, Sequence = seq, Time = JobStore.Now() };
            if (end is Cancelled c) t.Cancelled = c; else if (end is TrainCompleted d) t.Completed = d; else t.Failed = (Failed)end;
            return new JobEvent { Train = t };
        }
        var s = new SampleEvent { JobId = job.JobId, Sequence = seq, Time = JobStore.Now() };
        if (end is Cancelled c2) s.Cancelled = c2; else if (end is SampleCompleted d2) s.Completed = d2; else s.Failed = (Failed)end;
        return new JobEvent { Sample = s };
    }
}
