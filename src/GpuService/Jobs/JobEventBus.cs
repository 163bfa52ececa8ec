using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using TLoRA.Contracts.V1;

namespace TLoRA.GpuService.Jobs;

/// <summary>
/// Publishes job events: each is stored first (getting its sequence number), then handed to the job's live watchers.
/// A watcher subscribes before it replays the stored history and drops live events it already replayed, so it sees
/// every event exactly once, in order, whenever it attaches. All-jobs watchers (<see cref="WatchAll"/>) get every event
/// published after they subscribe, of every job, with no replay.
/// </summary>
public sealed class JobEventBus(JobStore store)
{
    private readonly ConcurrentDictionary<string, List<Channel<JobEvent>>> watchers = new();
    private readonly List<Channel<JobEvent>> allWatchers = [];
    private readonly ConcurrentDictionary<string, object> publishLocks = new();

    /// <summary>Every published event, stored and in order per job, for in-process observers (the service's metrics).
    /// Called under the job's publish lock: handlers must be quick and must not throw.</summary>
    public event Action<JobEvent>? Published;

    /// <summary>Stamps <paramref name="e"/> with the envelope (job id, the job's next sequence number, the time),
    /// stores it and broadcasts it. The bus is the one place that fills the envelope.</summary>
    public JobEvent Publish(string jobId, JobEvent e)
    {
        lock (publishLocks.GetOrAdd(jobId, _ => new object()))
        {
            store.Append(jobId, seq =>
            {
                e.JobId = jobId;
                e.Sequence = seq;
                e.Time = Timestamp.FromDateTimeOffset(JobStore.Now());
                return e.ToByteArray();
            });
            if (watchers.TryGetValue(jobId, out var list))
                lock (list)
                    foreach (var w in list) w.Writer.TryWrite(e);
            // Under the job's publish lock, so every all-jobs watcher gets each job's events in sequence order.
            lock (allWatchers)
                foreach (var w in allWatchers) w.Writer.TryWrite(e);
            Published?.Invoke(e);
            return e;
        }
    }

    /// <summary>Events from <paramref name="fromSequence"/> on: the stored ones, then live ones, until the job's
    /// terminal event (completed, failed, cancelled) or cancellation.</summary>
    public async IAsyncEnumerable<JobEvent> Watch(string jobId, long fromSequence, [EnumeratorCancellation] CancellationToken cancellation)
    {
        var channel = Channel.CreateUnbounded<JobEvent>(new UnboundedChannelOptions { SingleReader = true });
        var list = watchers.GetOrAdd(jobId, _ => new List<Channel<JobEvent>>());
        lock (list) list.Add(channel);
        try
        {
            var last = Math.Max(0, fromSequence - 1);
            foreach (var e in store.Events(jobId, Math.Max(1, fromSequence)))
            {
                last = e.Sequence;
                yield return e;
                if (IsTerminal(e)) yield break;
            }
            await foreach (var e in channel.Reader.ReadAllAsync(cancellation))
            {
                if (e.Sequence <= last) continue;
                last = e.Sequence;
                yield return e;
                if (IsTerminal(e)) yield break;
            }
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
        var channel = Channel.CreateUnbounded<JobEvent>(new UnboundedChannelOptions { SingleReader = true });
        lock (allWatchers) allWatchers.Add(channel);
        try
        {
            await foreach (var e in channel.Reader.ReadAllAsync(cancellation).ConfigureAwait(false)) yield return e;
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
            foreach (var w in list) w.Writer.TryComplete();
    }

    /// <summary>How many single-job watchers follow <paramref name="jobId"/> now.</summary>
    public int WatcherCount(string jobId)
    {
        if (!watchers.TryGetValue(jobId, out var list)) return 0;
        lock (list) return list.Count;
    }

    /// <summary>A job's last event: completed (training or sampling), failed or cancelled.</summary>
    public static bool IsTerminal(JobEvent e) => e.EventCase is JobEvent.EventOneofCase.TrainCompleted
        or JobEvent.EventOneofCase.SampleCompleted or JobEvent.EventOneofCase.Failed or JobEvent.EventOneofCase.Cancelled;
}
