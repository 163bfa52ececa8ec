using System.Threading.Channels;
using Grpc.Core;
using Microsoft.AspNetCore.SignalR;
using TLoRA.Contracts.V1;
using TLoRA.Gateway.Api;
using TLoRA.Gateway.Services;
using TLoRA.Gateway.Telemetry;

namespace TLoRA.Gateway.Hubs;

/// <summary>
/// Relays the <see cref="JobFeed"/> (every owner's jobs: the gateway watches as itself) to this replica's all-jobs
/// groups (<see cref="HubGroups"/>): each event becomes a small <see cref="JobActivityDto"/> sent to its job owner's group
/// and to the admins' group, queued and sent in order by one loop, so the feed never waits on SignalR. A job's owner is
/// asked of its service once (GetJob as the gateway) and remembered until its final event.
/// </summary>
public sealed partial class AllJobsRelay(JobFeed feed, GpuClient client, IHubContext<JobsHub> hub, HubGroups groups,
    GatewayMetrics metrics, ILogger<AllJobsRelay> logger) : BackgroundService
{
    public const string Method = Api.JobEventTypes.ActivityMethod;
    private const int MaxRemembered = 10_000;
    private readonly Dictionary<string, string> owners = [];

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
                    IReadOnlyList<string> targets = owner is null ? [groups.AllJobs] : [groups.AllJobs, groups.Owner(owner)];
                    await hub.Clients.Groups(targets).SendAsync(Method, dto, stoppingToken).ConfigureAwait(false);
                    metrics.Relayed(dto.Time, GatewayMetrics.AllJobsPath);
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
