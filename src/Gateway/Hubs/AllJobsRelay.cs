using System.Threading.Channels;
using Grpc.Core;
using Microsoft.AspNetCore.SignalR;
using TLoRA.Contracts.V1;
using TLoRA.Gateway.Api;
using TLoRA.Gateway.Services;

namespace TLoRA.Gateway.Hubs;

/// <summary>
/// Relays the <see cref="JobFeed"/> (every owner's jobs: the gateway watches as itself) to the hub's all-jobs groups:
/// each event becomes a small <see cref="JobActivityDto"/> sent to its job owner's group and to the admins' group, queued
/// and sent in order by one loop, so the feed never waits on SignalR. A job's owner is asked of its service once (GetJob
/// as the gateway) and remembered until its final event.
/// </summary>
public sealed partial class AllJobsRelay(JobFeed feed, GpuClient client, IHubContext<JobsHub> hub, ILogger<AllJobsRelay> logger) : BackgroundService
{
    public const string AdminGroup = "jobs:all";
    public const string Method = "activity";
    private const int MaxRemembered = 10_000;
    private readonly Dictionary<string, string> owners = [];

    /// <summary>The group a JoinAll of <paramref name="caller"/> joins: the admins' or the caller's own.</summary>
    public static string GroupOf(GatewayCaller caller) => caller.IsAdmin ? AdminGroup : OwnerGroup(caller.Owner);

    public static string OwnerGroup(string owner) => "jobs:owner:" + owner;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var queue = Channel.CreateUnbounded<JobEvent>(new UnboundedChannelOptions { SingleReader = true });
        using var subscription = feed.Subscribe(e => queue.Writer.TryWrite(e));
        try
        {
            await foreach (var e in queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                var dto = JobEvents.ToActivity(e);
                try
                {
                    var owner = await OwnerAsync(e.JobId, stoppingToken).ConfigureAwait(false);
                    if (dto.Final) owners.Remove(e.JobId);
                    IReadOnlyList<string> groups = owner is null ? [AdminGroup] : [AdminGroup, OwnerGroup(owner)];
                    await hub.Clients.Groups(groups).SendAsync(Method, dto, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogSendFailed(logger, dto.JobId, dto.Sequence, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>The owner of <paramref name="jobId"/>; null when its service cannot say (the event then goes to admins only).</summary>
    private async Task<string?> OwnerAsync(string jobId, CancellationToken ct)
    {
        if (owners.TryGetValue(jobId, out var known)) return known;
        try
        {
            var job = await client.GetJobAsync(GatewayCaller.Gateway, jobId, ct).ConfigureAwait(false);
            if (job.Owner.Length == 0) return null;
            if (owners.Count >= MaxRemembered) owners.Clear();
            owners[jobId] = job.Owner;
            return job.Owner;
        }
        catch (RpcException ex) when (!ct.IsCancellationRequested)
        {
            LogOwnerUnknown(logger, jobId, ex.StatusCode);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sending job {JobId} event {Sequence} to the all-jobs groups failed")]
    private static partial void LogSendFailed(ILogger logger, string jobId, long sequence, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The owner of job {JobId} could not be read ({Status}): its activity goes to admins only")]
    private static partial void LogOwnerUnknown(ILogger logger, string jobId, StatusCode status);
}
