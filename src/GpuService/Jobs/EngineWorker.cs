using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using TLoRA.GpuService.Service;
using TLoRA.Contracts.V1;

namespace TLoRA.GpuService.Jobs;

/// <summary>
/// The engine thread: takes queued jobs one at a time and runs them; all libtorch work of a job happens on this one
/// thread. A job ends completed, failed (with a grpc code), cancelled (CancelJob: stopped at the next step) or — when
/// the service stops under it — interrupted, which ResumeJob continues from the last checkpoint.
/// </summary>
public sealed partial class EngineWorker : IDisposable
{
    private readonly JobManager jobs;
    private readonly ModelCatalog catalog;
    private readonly JobPaths paths;
    private readonly ILogger<EngineWorker> log;
    private readonly CancellationTokenSource shutdown = new();
    private readonly Thread thread;
    private readonly ConcurrentDictionary<string, (long Before, long After)> liveTensors = new(StringComparer.Ordinal);

    public EngineWorker(JobManager jobs, ModelCatalog catalog, JobPaths paths, ILogger<EngineWorker> log)
    {
        this.jobs = jobs;
        this.catalog = catalog;
        this.paths = paths;
        this.log = log;
        thread = new Thread(Loop) { IsBackground = true, Name = "tlora-engine" };
    }

    public void Start() => thread.Start();

    /// <summary>TorchSharp's live-tensor count on the engine thread when each job it ran began and when it ended
    /// (completed, failed, cancelled or interrupted): equal unless the job loaded a model into the catalog.</summary>
    public IReadOnlyDictionary<string, (long Before, long After)> LiveTensorsByJob => liveTensors;

    /// <summary>Whether the engine thread runs and takes jobs (false before Start and once stopping).</summary>
    public bool IsAlive => thread.IsAlive && !shutdown.IsCancellationRequested;

    /// <summary>Stops after the current step of the running job (which becomes interrupted) and waits for the thread;
    /// false when it did not end within <paramref name="wait"/>.</summary>
    public bool Stop(TimeSpan wait)
    {
        shutdown.Cancel();
        return !thread.IsAlive || thread.Join(wait);
    }

    private void Loop()
    {
        while (!shutdown.IsCancellationRequested)
        {
            string id;
            try
            {
                id = jobs.Queue.DequeueAsync(shutdown.Token).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                return;
            }
            RunOne(id);
        }
    }

    private void RunOne(string jobId)
    {
        (JobRecord Job, CancellationTokenSource Cancellation, bool Resume)? taken;
        try
        {
            taken = jobs.TryStart(jobId, shutdown.Token);
        }
        finally
        {
            jobs.Queue.Handed(); // after TryStart counted it as running: the load never dips in between
        }
        if (taken is not { } started) return;
        var liveBefore = Engine.TorchRuntime.LiveTensors;
        var (job, cts, resume) = started;
        using var owned = cts;
        LogStarted(jobId, job.Kind);
        try
        {
            var completed = job.Kind == JobKind.Train
                ? new JobEvent { TrainCompleted = new TrainJobRunner(jobs, catalog, paths).Run(job, resume, cts.Token) }
                : new JobEvent { SampleCompleted = new SampleJobRunner(jobs, catalog, paths).Run(job, cts.Token) };
            Finish(job, JobState.Completed, completed);
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
            jobs.Interrupted(job);
            jobs.Bus.Close(jobId);
            LogInterrupted(jobId);
        }
        catch (OperationCanceledException)
        {
            Finish(job, JobState.Cancelled, new JobEvent { Cancelled = new Cancelled { Step = job.Step, LastAdapterId = job.AdapterId ?? "" } });
        }
        catch (Exception e)
        {
            // The client gets a short message and a reference; the log has the whole story under that reference.
            var reference = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));
            var (code, brief) = Classify(e, paths.Root, catalog.ModelsDirectory);
            var message = $"{SafeText.Brief(brief)} (ref {reference})";
            if (code == 13) LogFailed(jobId, reference, e);
            else LogRefused(jobId, reference, e.Message);
            job.Error = message;
            Finish(job, JobState.Failed, new JobEvent { Failed = new Failed { Code = code, Message = message } });
        }
        finally
        {
            liveTensors[jobId] = (liveBefore, Engine.TorchRuntime.LiveTensors);
            jobs.Ended(jobId);
        }
    }

    /// <summary>Stores the job's end, then publishes its terminal event (completed, cancelled or failed).</summary>
    private void Finish(JobRecord job, JobState state, JobEvent end)
    {
        job.State = state;
        job.Finished = JobStore.Now();
        jobs.Store.Update(job);
        jobs.Bus.Publish(job.JobId, end);
        jobs.DropRequestImage(job);
    }

    /// <summary>A grpc code and a message that is safe to show: bad input is INVALID_ARGUMENT, a missing file
    /// NOT_FOUND, out of memory RESOURCE_EXHAUSTED, a broken file FAILED_PRECONDITION; anything else INTERNAL without
    /// internals. Messages never name the service's folders: paths under them become their last part.</summary>
    internal static (int Code, string Message) Classify(Exception e, params string[] serverFolders)
    {
        var (code, message) = e switch
        {
            ArgumentException or FormatException or Engine.IO.ImageLoadException => (3, e.Message),
            KeyNotFoundException or FileNotFoundException or DirectoryNotFoundException => (5, e.Message),
            ExternalException t when t.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase) => (8, "out of device memory"),
            OutOfMemoryException => (8, "out of memory"),
            InvalidDataException or NotSupportedException or Engine.IO.StateDictException or Engine.IO.SafetensorsException => (9, e.Message),
            _ => (13, "the job failed with an internal error; see the service log"),
        };
        return (code, SafeText.WithoutPaths(message, serverFolders));
    }

    public void Dispose()
    {
        _ = Stop(TimeSpan.FromSeconds(30));
        shutdown.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId} ({Kind}) started")]
    private partial void LogStarted(string jobId, JobKind kind);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId} interrupted by shutdown; it can be resumed")]
    private partial void LogInterrupted(string jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId} failed (ref {Reference}): {Reason}")]
    private partial void LogRefused(string jobId, string reference, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "job {JobId} failed (ref {Reference})")]
    private partial void LogFailed(string jobId, string reference, Exception exception);
}
