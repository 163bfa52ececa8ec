using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using TLoRA.Gateway.Services;
using TLoRA.Rpc.V1;

namespace TLoRA.Gateway.Hubs;

/// <summary>What the "jobs:all" group receives for every event of every job (client method "job"): enough for a
/// dashboard to show all jobs live and fetch details when it needs them. <c>Type</c> is the hub's per-job client
/// method name (queued, started, step, checkpoint, sample, done, failed, cancelled).</summary>
public sealed record JobActivityDto(string JobId, string Type, long Sequence);

/// <summary>
/// Relays the <see cref="JobFeed"/> to the SignalR group <see cref="Group"/>: each event becomes a small
/// <see cref="JobActivityDto"/>, queued and sent in order by one loop, so the feed never waits on SignalR.
/// </summary>
public sealed partial class AllJobsRelay(JobFeed feed, IHubContext<JobsHub> hub, ILogger<AllJobsRelay> logger) : BackgroundService
{
    public const string Group = "jobs:all";
    public const string Method = "job";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var queue = Channel.CreateUnbounded<JobActivityDto>(new UnboundedChannelOptions { SingleReader = true });
        using var subscription = feed.Subscribe(e => queue.Writer.TryWrite(ToDto(e)));
        try
        {
            await foreach (var dto in queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await hub.Clients.Group(Group).SendAsync(Method, dto, stoppingToken).ConfigureAwait(false);
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

    public static JobActivityDto ToDto(JobEvent e) =>
        new(e.EventCase == JobEvent.EventOneofCase.Train ? e.Train.JobId : e.Sample?.JobId ?? "", JobEvents.Type(e), JobEvents.Sequence(e));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sending job {JobId} event {Sequence} to the all-jobs group failed")]
    private static partial void LogSendFailed(ILogger logger, string jobId, long sequence, Exception exception);
}
