using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using TLoRA.Contracts.V1;

namespace TLoRA.GpuService.Jobs;

/// <summary>
/// Publishes job events: each is stored first (getting its sequence number), then handed to the job's live watchers.
/// A watcher subscribes before it replays the stored history and drops live events it already replayed, so it sees
/// every event exactly once, in order, whenever it attaches. All-jobs watchers (<see cref="WatchAll"/>) get every event
/// published after they subscribe, of every job, with no replay. Each watcher's live events wait in a buffer of at most
/// <paramref name="maxWatcherBytes"/>: a watcher that falls further behind is ended with RESOURCE_EXHAUSTED saying
/// where to re-attach.
/// </summary>
public sealed class JobEventBus(JobStore store, long maxWatcherBytes = JobEventBus.DefaultMaxWatcherBytes)
{
    public const long DefaultMaxWatcherBytes = 8 * 1024 * 1024;

    private readonly ConcurrentDictionary<string, List<WatcherBuffer>> watchers = new();
    private readonly List<WatcherBuffer> allWatchers = [];
    private readonly ConcurrentDictionary<string, object> publishLocks = new();

    /// <summary>Every published event, stored and in order per job, for in-process observers (the service's metrics).
    /// Called under the job's publish lock: handlers must be quick and must not throw.</summary>
    public event Action<JobEvent>? Published;

    /// <summary>Stamps <paramref name="e"/> with the envelope (job id, the job's next sequence number, the time),
    /// stores it and broadcasts it. The bus is the one place that fills the envelope.</summary>
    public JobEvent Publish(string jobId, JobEvent e) => Publish(jobId, e, null, null);

    /// <summary>As <see cref="Publish(string, JobEvent)"/>, storing the artifacts the event announces and the job's
    /// record in the same transaction as the event.</summary>
    public JobEvent Publish(string jobId, JobEvent e, IReadOnlyList<Artifact>? artifacts, JobRecord? job)
    {
        lock (publishLocks.GetOrAdd(jobId, _ => new object()))
        {
            store.Append(jobId, seq =>
            {
                e.JobId = jobId;
                e.Sequence = seq;
                e.Time = Timestamp.FromDateTimeOffset(JobStore.Now());
                return e.ToByteArray();
            }, artifacts, job);
            if (watchers.TryGetValue(jobId, out var list))
                lock (list)
                    foreach (var w in list) w.Offer(e);
            // Under the job's publish lock, so every all-jobs watcher gets each job's events in sequence order.
            lock (allWatchers)
                foreach (var w in allWatchers) w.Offer(e);
            Published?.Invoke(e);
            return e;
        }
    }

    /// <summary>Events from <paramref name="fromSequence"/> on: the stored ones, then live ones, until the job's
    /// terminal event (completed, failed, cancelled), its <c>interrupted</c> event while it stays interrupted, or
    /// cancellation. A watch that starts past the end of a job that has ended (or is interrupted) ends at once.</summary>
    public async IAsyncEnumerable<JobEvent> Watch(string jobId, long fromSequence, [EnumeratorCancellation] CancellationToken cancellation)
    {
        var channel = new WatcherBuffer(maxWatcherBytes);
        var list = watchers.GetOrAdd(jobId, _ => new List<WatcherBuffer>());
        lock (list) list.Add(channel);
        try
        {
            var last = Math.Max(0, fromSequence - 1);
            var history = store.Events(jobId, Math.Max(1, fromSequence));
            for (var i = 0; i < history.Count; i++)
            {
                var e = history[i];
                last = e.Sequence;
                yield return e;
                if (IsTerminal(e)) yield break;
                // An interrupted job that has not been resumed since (nothing newer stored or live) ends the watch.
                if (IsInterrupted(e) && i == history.Count - 1 && !(channel.Reader.TryPeek(out var newer) && newer.Sequence > e.Sequence))
                    yield break;
            }
            if (history.Count == 0 && store.LastEvent(jobId) is { } newest && (IsTerminal(newest) || IsInterrupted(newest))
                && newest.Sequence < Math.Max(1, fromSequence))
                yield break;
            await foreach (var e in channel.Reader.ReadAllAsync(cancellation))
            {
                channel.Taken(e);
                if (e.Sequence <= last) continue;
                last = e.Sequence;
                yield return e;
                if (IsTerminal(e) || IsInterrupted(e)) yield break;
            }
            if (channel.FellBehind)
                throw new JobRequestException(JobError.ResourceExhausted, $"this watch fell behind: more than {maxWatcherBytes} bytes of events " +
                    $"waited for it (GpuService:MaxWatcherBufferBytes); watch again from sequence {last + 1}");
        }
        finally
        {
            lock (list) list.Remove(channel);
        }
    }

    /// <summary>Live events of every job, until cancellation; no replay (history comes from the store). The
    /// subscription is made synchronously inside the first <c>MoveNextAsync</c>, so an event published after that
    /// call started is received even though the call itself is still waiting.</summary>
    public async IAsyncEnumerable<JobEvent> WatchAll([EnumeratorCancellation] CancellationToken cancellation)
    {
        var channel = new WatcherBuffer(maxWatcherBytes);
        lock (allWatchers) allWatchers.Add(channel);
        try
        {
            await foreach (var e in channel.Reader.ReadAllAsync(cancellation).ConfigureAwait(false))
            {
                channel.Taken(e);
                yield return e;
            }
            if (channel.FellBehind)
                throw new JobRequestException(JobError.ResourceExhausted, $"this watch fell behind: more than {maxWatcherBytes} bytes of events " +
                    "waited for it (GpuService:MaxWatcherBufferBytes); watch again, and catch up each job with WatchJob from the last " +
                    "sequence you have of it");
        }
        finally
        {
            lock (allWatchers) allWatchers.Remove(channel);
        }
    }

    /// <summary>How many all-jobs watchers are subscribed now.</summary>
    public int AllWatcherCount
    {
        get
        {
            lock (allWatchers) return allWatchers.Count;
        }
    }

    /// <summary>Ends every live watch of the job (used when a job is interrupted by shutdown).</summary>
    public void Close(string jobId)
    {
        if (!watchers.TryGetValue(jobId, out var list)) return;
        lock (list)
            foreach (var w in list) w.Complete();
    }

    /// <summary>How many single-job watchers follow <paramref name="jobId"/> now.</summary>
    public int WatcherCount(string jobId)
    {
        if (!watchers.TryGetValue(jobId, out var list)) return 0;
        lock (list) return list.Count;
    }

    /// <summary>The service stopped under the job; it may be resumed.</summary>
    public static bool IsInterrupted(JobEvent e) => e.EventCase == JobEvent.EventOneofCase.Interrupted;

    /// <summary>A job's last event: completed (training or sampling), failed or cancelled.</summary>
    public static bool IsTerminal(JobEvent e) => e.EventCase is JobEvent.EventOneofCase.TrainCompleted
        or JobEvent.EventOneofCase.SampleCompleted or JobEvent.EventOneofCase.Failed or JobEvent.EventOneofCase.Cancelled;
}
