using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using TLoRA.Gateway.Security;
using TLoRA.Gateway.Services;

namespace TLoRA.Gateway.Hubs;

/// <summary>
/// /hubs/jobs, for authenticated callers with the jobs:read scope (a bearer token or API key; browsers' WebSockets send
/// it as the <c>access_token</c> query parameter, accepted on /hubs only). <c>Join(jobId, fromSequence)</c> sends the
/// job's events from that sequence, then its live events, each exactly once and in order, to the client method
/// "event": {jobId, sequence, time, type, final, data}, the same shape as GET /api/jobs/{id}/events
/// (<see cref="Api.JobEventDto"/>; <c>final</c> marks the job's last event); another owner's job is "not found".
/// <c>Leave(jobId)</c> stops them. <c>JoinAll()</c> subscribes the connection to the client method "activity" with
/// {jobId, sequence, time, type, final} for every live event of the caller's own jobs (every job's with the admin
/// scope; no history: load it over REST); <c>LeaveAll()</c> stops that.
/// </summary>
[Authorize(Policy = Scopes.Read)]
public sealed class JobsHub(JobWatchers watchers, HubGroups groups) : Hub
{
    public const string EventMethod = Api.JobEventTypes.EventMethod;

    private GatewayCaller Caller => GatewayCaller.Of(Context.User!);

    public async Task Join(string jobId, long fromSequence)
    {
        if (string.IsNullOrWhiteSpace(jobId)) throw new HubException("jobId: required");
        if (fromSequence < 0) throw new HubException("fromSequence: must not be negative");
        try
        {
            await watchers.JoinAsync(Caller, Context.ConnectionId, jobId, fromSequence, Context.ConnectionAborted).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            throw new HubException("not found: no such job");
        }
    }

    public Task Leave(string jobId) => watchers.LeaveAsync(Context.ConnectionId, jobId, Context.ConnectionAborted);

    public Task JoinAll() => Groups.AddToGroupAsync(Context.ConnectionId, groups.ActivityOf(Caller), Context.ConnectionAborted);

    public Task LeaveAll() => Groups.RemoveFromGroupAsync(Context.ConnectionId, groups.ActivityOf(Caller), Context.ConnectionAborted);

    // SignalR removes a closed connection from its groups (the all-jobs ones included) by itself.
    public override Task OnDisconnectedAsync(Exception? exception) => watchers.LeaveAllAsync(Context.ConnectionId);
}
