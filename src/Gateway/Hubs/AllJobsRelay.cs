using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using TLoRA.Gateway.Api;
using TLoRA.Gateway.Services;
using TLoRA.Gateway.Telemetry;

namespace TLoRA.Gateway.Hubs;

/// <summary>
/// Relays the <see cref="JobFeed"/> to this replica's all-jobs group (<see cref="HubGroups.AllJobs"/>): each event becomes a small
/// <see cref="JobActivityDto"/>, queued and sent in order by one loop, so the feed never waits on SignalR.
/// </summary>
public sealed partial class AllJobsRelay(JobFeed feed, IHubContext<JobsHub> hub, HubGroups groups, GatewayMetrics metrics,
    ILogger<AllJobsRelay> logger) : BackgroundService
{
    public const string Method = Api.JobEventTypes.ActivityMethod;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var queue = Channel.CreateUnbounded<JobActivityDto>(new UnboundedChannelOptions { SingleReader = true });
        using var subscription = feed.Subscribe(e => queue.Writer.TryWrite(JobEvents.ToActivity(e)));
        try
        {
            await foreach (var dto in queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await hub.Clients.Group(groups.AllJobs).SendAsync(Method, dto, stoppingToken).ConfigureAwait(false);
                    metrics.Relayed(dto.Time, GatewayMetrics.AllJobsPath);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    LogSendFailed(logger, dto.JobId, dto.Sequence, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sending job {JobId} event {Sequence} to the all-jobs group failed")]
    private static partial void LogSendFailed(ILogger logger, string jobId, long sequence, Exception exception);
}
