using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Grpc.Core;
using TLoRA.Contracts.V1;
using TLoRA.Gateway.Api;
using TLoRA.Gateway.Services;
using TLoRA.Gateway.Telemetry;

namespace TLoRA.Gateway.Hubs;

/// <summary>
/// One WatchJob stream per watched job, fanned out to the job's SignalR group as "event" messages (<see cref="JobEventDto"/>). A joiner takes the watcher's lock,
/// receives the history up to the last event the group has been sent (its own WatchJob from its sequence), and joins
/// the group before the lock is released: the next live event is the one after, so nothing is missed or repeated.
/// Only a caller that may see the job (its owner, or an admin: the caller's own GetJob answers) joins; the shared
/// watcher then follows it as the job's owner.
/// A job that is interrupted ends its WatchJob stream without a final event; its watcher then stays, following
/// nothing, with its members still in the group. When the job lives again (a resume from any client or gateway
/// replica shows up on the <see cref="JobFeed"/>, or a member re-joins) the watcher follows on from the last event the
/// group was sent, so members that never left see the resume and what follows it.
/// </summary>
public sealed partial class JobWatchers : IDisposable
{
    private readonly GpuClient client;
    private readonly IHubContext<JobsHub> hub;
    private readonly HubGroups groups;
    private readonly GatewayMetrics metrics;
    private readonly ILogger<JobWatchers> logger;
    private readonly IDisposable feedSubscription;
    private readonly Dictionary<string, Watcher> watchers = [];
    private readonly ConcurrentDictionary<string, HashSet<string>> joined = new();

    public JobWatchers(GpuClient client, IHubContext<JobsHub> hub, HubGroups groups, GatewayMetrics metrics, JobFeed feed,
        ILogger<JobWatchers> logger)
    {
        ArgumentNullException.ThrowIfNull(feed);
        (this.client, this.hub, this.groups, this.metrics, this.logger) = (client, hub, groups, metrics, logger);
        feedSubscription = feed.Subscribe(OnFeedEvent);
    }

    public void Dispose() => feedSubscription.Dispose();

    /// <summary>A live event of a job whose watcher follows nothing (it was interrupted): follow it again.</summary>
    private void OnFeedEvent(JobEvent e)
    {
        Watcher? w;
        lock (watchers) watchers.TryGetValue(e.JobId, out w);
        if (w is { Initialised: true, Loop: null, Ended: false } && e.Sequence > w.Last) _ = Task.Run(() => WakeAsync(w));
    }

    private async Task WakeAsync(Watcher w)
    {
        await w.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (w is { Ended: false, Loop: null } && w.Members.Count > 0)
            {
                LogWoken(logger, w.JobId, w.Last);
                w.Loop = Task.Run(() => FollowAsync(w));
            }
        }
        finally
        {
            w.Gate.Release();
        }
    }

    public async Task JoinAsync(GatewayCaller caller, string connectionId, string jobId, long fromSequence, CancellationToken ct)
    {
        // The caller's own GetJob decides: another owner's job is NOT_FOUND for them, before any shared watcher exists.
        await client.GetJobAsync(caller, jobId, ct).ConfigureAwait(false);
        while (true)
        {
            Watcher w;
            lock (watchers)
            {
                if (!watchers.TryGetValue(jobId, out w!)) watchers[jobId] = w = new Watcher(jobId);
            }
            await w.Gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                if (w.Ended) continue;
                // a watcher of a job that had ended or was interrupted follows nothing: ask again, the job may have resumed
                if (!w.Initialised || w.Loop is null) await InitialiseAsync(w, ct).ConfigureAwait(false);
                var from = Math.Max(fromSequence, 1);
                if (from <= w.Last)
                {
                    await foreach (var e in client.WatchAsync(caller, jobId, from, ct).ConfigureAwait(false))
                    {
                        var dto = JobEvents.ToDto(e);
                        if (dto.Sequence > w.Last) break;
                        await hub.Clients.Client(connectionId).SendAsync(JobsHub.EventMethod, dto, ct).ConfigureAwait(false);
                        if (dto.Sequence >= w.Last) break;
                    }
                }
                await hub.Groups.AddToGroupAsync(connectionId, groups.Job(jobId), ct).ConfigureAwait(false);
                w.Members.Add(connectionId);
                var mine = joined.GetOrAdd(connectionId, _ => []);
                lock (mine) mine.Add(jobId);
                LogJoined(logger, connectionId, jobId, fromSequence, w.Last);
                return;
            }
            catch when (w.Members.Count == 0)
            {
                End(w);
                throw;
            }
            finally
            {
                w.Gate.Release();
            }
        }
    }

    public async Task LeaveAsync(string connectionId, string jobId, CancellationToken ct)
    {
        if (joined.TryGetValue(connectionId, out var mine)) lock (mine) mine.Remove(jobId);
        Watcher? w;
        lock (watchers) watchers.TryGetValue(jobId, out w);
        if (w is null) return;
        await w.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (w.Members.Remove(connectionId) && w.Members.Count == 0) End(w);
        }
        finally
        {
            w.Gate.Release();
        }
        await hub.Groups.RemoveFromGroupAsync(connectionId, groups.Job(jobId), ct).ConfigureAwait(false);
    }

    public async Task LeaveAllAsync(string connectionId)
    {
        if (!joined.TryRemove(connectionId, out var mine)) return;
        string[] jobs;
        lock (mine) jobs = [.. mine];
        foreach (var jobId in jobs) await LeaveAsync(connectionId, jobId, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task InitialiseAsync(Watcher w, CancellationToken ct)
    {
        var job = await client.GetJobAsync(GatewayCaller.Gateway, w.JobId, ct).ConfigureAwait(false);
        // a watcher that follows again keeps its Last: its members were sent everything up to it, and get the rest
        if (!w.Initialised)
        {
            w.Last = job.LastSequence;
            // the shared stream is the job owner's (the service counts it against that owner's streams, not the gateway's)
            w.Caller = job.Owner.Length > 0 ? new GatewayCaller(job.Owner, []) : GatewayCaller.Gateway;
            w.Initialised = true;
        }
        // A finished or interrupted job has no live events to follow (a resume is followed by joining again).
        if (job.State is not (JobState.Completed or JobState.Failed or JobState.Cancelled or JobState.Interrupted)) w.Loop = Task.Run(() => FollowAsync(w));
    }

    private async Task FollowAsync(Watcher w)
    {
        var token = w.Cancel.Token;
        var next = w.Last + 1;
        var done = false;
        var final = false;
        while (!done && !token.IsCancellationRequested)
        {
            try
            {
                await foreach (var e in client.WatchAsync(w.Caller, w.JobId, next, token).ConfigureAwait(false))
                {
                    var dto = JobEvents.ToDto(e);
                    await w.Gate.WaitAsync(token).ConfigureAwait(false);
                    try
                    {
                        if (dto.Sequence <= w.Last) continue;
                        w.Last = dto.Sequence;
                        await hub.Clients.Group(groups.Job(w.JobId)).SendAsync(JobsHub.EventMethod, dto, token).ConfigureAwait(false);
                        metrics.Relayed(dto.Time, GatewayMetrics.JobPath);
                    }
                    finally
                    {
                        w.Gate.Release();
                    }
                    next = dto.Sequence + 1;
                    if (dto.Final)
                    {
                        final = true;
                        break;
                    }
                }
                done = true;
            }
            catch (Exception e) when (!token.IsCancellationRequested)
            {
                // UNAVAILABLE or a dropped stream: re-attach from the next sequence once the service answers again.
                LogWatchFailed(logger, w.JobId, next, e.Message);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                if (e is RpcException { StatusCode: StatusCode.NotFound })
                {
                    done = true;
                    final = true; // deleted: nothing will follow
                }
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                return;
            }
        }
        await w.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            // the stream ended without a final event (interrupted): keep following nothing until the job lives again
            if (!final && !token.IsCancellationRequested && w.Members.Count > 0) w.Loop = null;
            else End(w);
        }
        finally
        {
            w.Gate.Release();
        }
    }

    /// <summary>Stops and forgets <paramref name="w"/>; called under its lock. Later joiners get a fresh watcher.</summary>
    private void End(Watcher w)
    {
        w.Ended = true;
        w.Cancel.Cancel();
        lock (watchers)
        {
            if (watchers.TryGetValue(w.JobId, out var current) && current == w) watchers.Remove(w.JobId);
        }
    }

    private sealed class Watcher(string jobId)
    {
        public string JobId { get; } = jobId;
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public CancellationTokenSource Cancel { get; } = new();
        public HashSet<string> Members { get; } = [];
        public long Last { get; set; }
        public bool Initialised { get; set; }
        public GatewayCaller Caller { get; set; } = GatewayCaller.Gateway;
        public bool Ended { get; set; }
        public Task? Loop { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection {ConnectionId} joined job {JobId} from {FromSequence} (live after {Last})")]
    private static partial void LogJoined(ILogger logger, string connectionId, string jobId, long fromSequence, long last);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} has new events after {Last}: following it again")]
    private static partial void LogWoken(ILogger logger, string jobId, long last);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watching job {JobId} from {Next} failed: {Reason}; retrying")]
    private static partial void LogWatchFailed(ILogger logger, string jobId, long next, string reason);
}
