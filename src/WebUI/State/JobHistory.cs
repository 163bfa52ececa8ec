using System.Collections.Concurrent;
using TLoRA.WebUI.Backend;

namespace TLoRA.WebUI.State;

/// <summary>
/// Jobs' timelines as the pages render them, kept between requests: a job page and each live refresh (every
/// 300 ms while a job runs) read only the events that arrived since the last read, not the whole history again.
/// The newest <see cref="Capacity"/> jobs read are kept; the rest are rebuilt from their history when asked for.
/// </summary>
public sealed class JobHistory(IJobBackend backend)
{
    public const int Capacity = 64;

    private sealed class Entry(string jobId)
    {
        public JobTimeline Timeline { get; } = new(jobId);
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public long Touched;
    }

    private readonly ConcurrentDictionary<string, Entry> entries = new();
    private long clock;

    /// <summary>The job's timeline with every event stored so far (live ones are not waited for: the page follows
    /// those over the hub). Throws <see cref="BackendException"/> (404 for an unknown job).</summary>
    public async Task<JobTimeline> LoadAsync(string jobId, CancellationToken ct)
    {
        var job = await backend.GetJobAsync(jobId, ct).ConfigureAwait(false);
        var entry = entries.GetOrAdd(jobId, id => new Entry(id));
        Interlocked.Exchange(ref entry.Touched, Interlocked.Increment(ref clock));
        // one reader per timeline: two interleaved catch-ups could apply 9 before 8, and 8 would then be dropped
        await entry.Gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var timeline = entry.Timeline;
            timeline.Seed(job);
            if (job.LastSequence > timeline.LastSequence)
            {
                await foreach (var e in backend.WatchAsync(jobId, timeline.LastSequence + 1, ct).ConfigureAwait(false))
                {
                    timeline.Apply(e);
                    if (timeline.LastSequence >= job.LastSequence) break;
                }
            }
            return timeline;
        }
        finally
        {
            entry.Gate.Release();
            Trim();
        }
    }

    /// <summary>Forgets the least recently read jobs beyond <see cref="Capacity"/>.</summary>
    private void Trim()
    {
        var excess = entries.Count - Capacity;
        if (excess <= 0) return;
        foreach (var (id, _) in entries.OrderBy(e => Interlocked.Read(ref e.Value.Touched)).Take(excess).ToArray())
            entries.TryRemove(id, out _);
    }
}
