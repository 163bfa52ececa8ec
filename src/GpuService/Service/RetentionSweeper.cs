using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TLoRA.GpuService.Jobs;

namespace TLoRA.GpuService.Service;

/// <summary>Deletes ended jobs (with their files) once they finished more than GpuService:RetentionDays ago; checks at
/// start and then every hour. RetentionDays 0 keeps them for ever.</summary>
public sealed partial class RetentionSweeper(JobManager jobs, GpuServiceOptions options, ILogger<RetentionSweeper> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.RetentionDays <= 0) return;
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1));
        do
        {
            var (count, freed) = Sweep(jobs, TimeSpan.FromDays(options.RetentionDays));
            if (count > 0) LogSwept(count, freed / 1048576.0, options.RetentionDays);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>Deletes the jobs that ended more than <paramref name="age"/> ago; how many, and the bytes freed.</summary>
    public static (int Count, long Freed) Sweep(JobManager jobs, TimeSpan age)
    {
        var count = 0;
        long freed = 0;
        foreach (var id in jobs.Store.FinishedBefore(DateTimeOffset.UtcNow - age))
        {
            freed += jobs.Delete(id);
            count++;
        }
        return (count, freed);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "retention: deleted {Count} jobs that ended over {Days} days ago ({FreedMb:0.#} MB)")]
    private partial void LogSwept(int count, double freedMb, double days);
}
