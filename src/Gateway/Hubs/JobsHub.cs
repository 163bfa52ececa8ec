using Microsoft.AspNetCore.SignalR;

namespace TLoRA.Gateway.Hubs;

/// <summary>
/// /hubs/jobs. <c>Join(jobId, fromSequence)</c> sends the job's events from that sequence, then its live events, each
/// exactly once and in order, to the client method "event": {jobId, sequence, time, type, final, data}, the same
/// shape as GET /api/jobs/{id}/events (<see cref="Api.JobEventDto"/>; <c>final</c> marks the job's last event).
/// <c>Leave(jobId)</c> stops them. <c>JoinAll()</c> adds the connection to the "jobs:all" group, which receives the
/// client method "activity" with {jobId, sequence, time, type, final} for every live event of every job (no history:
/// load it over REST); <c>LeaveAll()</c> stops that.
/// </summary>
public sealed class JobsHub(JobWatchers watchers, HubGroups groups) : Hub
{
    public const string EventMethod = Api.JobEventTypes.EventMethod;

    public Task Join(string jobId, long fromSequence)
    {
        if (string.IsNullOrWhiteSpace(jobId)) throw new HubException("jobId: required");
        if (fromSequence < 0) throw new HubException("fromSequence: must not be negative");
        return watchers.JoinAsync(Context.ConnectionId, jobId, fromSequence, Context.ConnectionAborted);
    }

    public Task Leave(string jobId) => watchers.LeaveAsync(Context.ConnectionId, jobId, Context.ConnectionAborted);

    public Task JoinAll() => Groups.AddToGroupAsync(Context.ConnectionId, groups.AllJobs, Context.ConnectionAborted);

    public Task LeaveAll() => Groups.RemoveFromGroupAsync(Context.ConnectionId, groups.AllJobs, Context.ConnectionAborted);

    // SignalR removes a closed connection from its groups ("jobs:all" included) by itself.
    public override Task OnDisconnectedAsync(Exception? exception) => watchers.LeaveAllAsync(Context.ConnectionId);
}
