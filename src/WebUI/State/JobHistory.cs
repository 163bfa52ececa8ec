using TLoRA.Rpc.V1;
using TLoRA.WebUI.Backend;

namespace TLoRA.WebUI.State;

/// <summary>Builds a job's <see cref="JobTimeline"/> from its record and every event stored so far (no waiting for
/// live ones: the page follows those over the hub).</summary>
public static class JobHistory
{
    public static async Task<JobTimeline> LoadAsync(IJobBackend backend, string jobId, CancellationToken ct)
    {
        var job = await backend.GetJobAsync(jobId, ct).ConfigureAwait(false);
        var timeline = new JobTimeline(jobId);
        timeline.Seed(job);
        if (job.LastSequence == 0) return timeline;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        await foreach (var e in backend.WatchAsync(jobId, 1, stop.Token).ConfigureAwait(false))
        {
            timeline.Apply(e);
            if (timeline.LastSequence >= job.LastSequence) break;
        }
        return timeline;
    }
}
