using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Options;
using TLoRA.Gateway.Api;
using TLoRA.WebUI.State;

namespace TLoRA.WebUI.Gateway;

/// <summary>
/// The circuit's connection to the gateway's hub (/hubs/jobs), opened on first use. A watched job's events go into its
/// <see cref="JobLive"/> (which drops what it has already applied), then to the page's callback. The connection
/// reconnects by itself, forever; after a reconnect every watched job is joined again from the sequence after the
/// last one its state applied, so nothing is missed and nothing is shown twice. It connects as the tab's person
/// (<see cref="GatewayCredentials"/>): the gateway shows them only their own jobs.
/// </summary>
public sealed partial class JobHub(IOptions<WebUiOptions> options, GatewayCredentials credentials, ILogger<JobHub> logger) : IAsyncDisposable
{
    private readonly Dictionary<string, (JobLive State, Func<Task> Changed)> watched = [];
    private Func<JobActivityDto, Task>? activity;
    private HubConnection? connection;
    private readonly SemaphoreSlim start = new(1, 1);

    /// <summary>Follows a job: its history after <see cref="JobLive.LastSequence"/>, then its live events.</summary>
    public async Task WatchAsync(JobLive state, Func<Task> changed, CancellationToken ct)
    {
        lock (watched) watched[state.JobId] = (state, changed);
        var hub = await ConnectAsync(ct).ConfigureAwait(false);
        await hub.InvokeAsync("Join", state.JobId, state.LastSequence + 1, ct).ConfigureAwait(false);
    }

    public async Task UnwatchAsync(string jobId)
    {
        lock (watched) watched.Remove(jobId);
        if (connection is { State: HubConnectionState.Connected } hub) await hub.InvokeAsync("Leave", jobId).ConfigureAwait(false);
    }

    /// <summary>Every job's live events, without data (the jobs list).</summary>
    public async Task WatchAllAsync(Func<JobActivityDto, Task> onActivity, CancellationToken ct)
    {
        activity = onActivity;
        var hub = await ConnectAsync(ct).ConfigureAwait(false);
        await hub.InvokeAsync("JoinAll", ct).ConfigureAwait(false);
    }

    private async Task<HubConnection> ConnectAsync(CancellationToken ct)
    {
        await start.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (connection is null)
            {
                var url = new Uri(options.Value.Gateway!, JobEventTypes.HubPath);
                connection = new HubConnectionBuilder()
                    // the person's own token (or the WebUI's API key for the local admin), asked again at every reconnect
                    .WithUrl(url, o => o.AccessTokenProvider = credentials.HubTokenAsync)
                    .WithAutomaticReconnect(new Forever()).Build();
                connection.On<JobEventDto>(JobEventTypes.EventMethod, OnEventAsync);
                connection.On<JobActivityDto>(JobEventTypes.ActivityMethod, a => activity?.Invoke(a) ?? Task.CompletedTask);
                connection.Reconnected += _ => RejoinAsync();
            }
            if (connection.State == HubConnectionState.Disconnected) await connection.StartAsync(ct).ConfigureAwait(false);
            return connection;
        }
        finally
        {
            start.Release();
        }
    }

    private async Task OnEventAsync(JobEventDto e)
    {
        (JobLive State, Func<Task> Changed) target;
        lock (watched)
        {
            if (!watched.TryGetValue(e.JobId, out target)) return;
        }
        if (target.State.Apply(e)) await target.Changed().ConfigureAwait(false);
    }

    private async Task RejoinAsync()
    {
        (JobLive State, Func<Task> Changed)[] jobs;
        lock (watched) jobs = [.. watched.Values];
        foreach (var (state, _) in jobs)
        {
            LogRejoin(logger, state.JobId, state.LastSequence + 1);
            await connection!.InvokeAsync("Join", state.JobId, state.LastSequence + 1).ConfigureAwait(false);
        }
        if (activity is not null) await connection!.InvokeAsync("JoinAll").ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (connection is not null) await connection.DisposeAsync().ConfigureAwait(false);
        start.Dispose();
    }

    /// <summary>Retries every second for the first ten seconds, then every five, never giving up.</summary>
    private sealed class Forever : IRetryPolicy
    {
        public TimeSpan? NextRetryDelay(RetryContext context) =>
            context.ElapsedTime < TimeSpan.FromSeconds(10) ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(5);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "hub reconnected: joining {JobId} again from {Sequence}")]
    private static partial void LogRejoin(ILogger logger, string jobId, long sequence);
}
