using TLoRA.Rpc.V1;
using TLoRA.WebUI.Backend;

namespace TLoRA.WebUI.State;

/// <summary>
/// Keeps a <see cref="JobTimeline"/> up to date for one page: loads the job, replays its events and follows the live
/// ones; when the stream breaks (a service restart, the gateway losing the service) it reconnects from the last
/// applied sequence, so nothing is missed or shown twice. <see cref="Changed"/> is raised at most every
/// <see cref="RenderInterval"/> so a fast job does not flood the browser with renders.
/// </summary>
public sealed class JobWatch : IAsyncDisposable
{
    public static readonly TimeSpan RenderInterval = TimeSpan.FromMilliseconds(200);

    private readonly IJobBackend backend;
    private readonly CancellationTokenSource stop = new();
    private readonly Lock gate = new();
    private Task? loop;
    private DateTime lastRaised = DateTime.MinValue;
    private bool pending;

    public JobWatch(IJobBackend backend, string jobId)
    {
        this.backend = backend;
        Timeline = new JobTimeline(jobId);
    }

    public JobTimeline Timeline { get; }

    /// <summary>Wait before reconnecting a broken stream.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Why the live view is not current (service down, unknown job); null while it is.</summary>
    public string? Problem { get; private set; }

    /// <summary>True once the job is unknown to every service (NOT_FOUND): the watch stops.</summary>
    public bool NotFound { get; private set; }

    /// <summary>Raised (on a background thread) after new events were applied or the problem changed.</summary>
    public event Func<Task>? Changed;

    /// <summary>Loads the job record (throws <see cref="BackendException"/>) and starts following its events.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        var job = await backend.GetJobAsync(Timeline.JobId, ct).ConfigureAwait(false);
        Timeline.Seed(job);
        loop = Task.Run(() => FollowAsync(stop.Token), CancellationToken.None);
    }

    private async Task FollowAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await foreach (var e in backend.WatchAsync(Timeline.JobId, Timeline.LastSequence + 1, ct).ConfigureAwait(false))
                {
                    var applied = Timeline.Apply(e);
                    if (Problem is not null)
                    {
                        Problem = null;
                        await RaiseAsync(force: true).ConfigureAwait(false);
                    }
                    if (applied) await RaiseAsync(force: false).ConfigureAwait(false);
                }
                if (Timeline.IsFinished) break;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (BackendException e) when (e.Status == 404)
            {
                NotFound = true;
                Problem = e.Message;
                await RaiseAsync(force: true).ConfigureAwait(false);
                break;
            }
            catch (BackendException e)
            {
                Problem = $"{e.Title}: {e.Message} — reconnecting…";
                await RaiseAsync(force: true).ConfigureAwait(false);
            }
            if (Timeline.IsFinished) break;
            try
            {
                await Task.Delay(RetryDelay, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        await RaiseAsync(force: true).ConfigureAwait(false);
    }

    private async Task RaiseAsync(bool force)
    {
        var now = DateTime.UtcNow;
        lock (gate)
        {
            if (!force && now - lastRaised < RenderInterval)
            {
                if (pending) return;
                pending = true;
                _ = Task.Delay(RenderInterval - (now - lastRaised)).ContinueWith(_ => RaiseAsync(force: true), TaskScheduler.Default);
                return;
            }
            pending = false;
            lastRaised = now;
        }
        if (Changed is { } handler)
        {
            try
            {
                await handler().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // the page went away while a render was queued
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync().ConfigureAwait(false);
        if (loop is not null)
        {
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        stop.Dispose();
    }
}
