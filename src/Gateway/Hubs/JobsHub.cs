using Microsoft.AspNetCore.SignalR;

namespace TLoRA.Gateway.Hubs;

/// <summary>
/// /hubs/jobs. <c>Join(jobId, fromSequence)</c> sends the job's events from that sequence, then its live events,
/// each exactly once and in order, to the client methods queued, started, step, checkpoint, sample, done, failed and
/// cancelled (camelCase JSON, each with jobId and sequence). <c>Leave(jobId)</c> stops them. <c>JoinAll()</c> adds the
/// connection to the "jobs:all" group, which receives the client method "job" with {jobId, type, sequence} for every
/// live event of every job (no history: load it over REST); <c>LeaveAll()</c> stops that.
/// </summary>
public sealed class JobsHub(JobWatchers watchers) : Hub
{
    public Task Join(string jobId, long fromSequence)
    {
        if (string.IsNullOrWhiteSpace(jobId)) throw new HubException("jobId: required");
        if (fromSequence < 0) throw new HubException("fromSequence: must not be negative");
        return watchers.JoinAsync(Context.ConnectionId, jobId, fromSequence, Context.ConnectionAborted);
    }

    public Task Leave(string jobId) => watchers.LeaveAsync(Context.ConnectionId, jobId, Context.ConnectionAborted);

    public Task JoinAll() => Groups.AddToGroupAsync(Context.ConnectionId, AllJobsRelay.Group, Context.ConnectionAborted);

    public Task LeaveAll() => Groups.RemoveFromGroupAsync(Context.ConnectionId, AllJobsRelay.Group, Context.ConnectionAborted);

    // SignalR removes a closed connection from its groups ("jobs:all" included) by itself.
    public override Task OnDisconnectedAsync(Exception? exception) => watchers.LeaveAllAsync(Context.ConnectionId);
}
