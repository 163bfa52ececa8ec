using Microsoft.Extensions.Diagnostics.HealthChecks;
using TLoRA.GpuService.Jobs;

namespace TLoRA.GpuService.Service;

/// <summary>The engine thread runs (it starts with the service and ends when it stops).</summary>
public sealed class EngineThreadCheck(EngineWorker worker) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(worker.IsAlive ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("the engine thread is not running"));
}

/// <summary>The models folder can be listed.</summary>
public sealed class ModelsFolderCheck(GpuServiceOptions options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            _ = Directory.EnumerateDirectories(options.ModelsDirectory).Any();
            return Task.FromResult(HealthCheckResult.Healthy());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("the models folder cannot be read"));
        }
    }
}

/// <summary>The job database answers.</summary>
public sealed class JobStoreCheck(JobStore store) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(store.IsOpen() ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("the job database does not answer"));
}
