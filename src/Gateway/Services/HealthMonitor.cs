using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.Options;

namespace TLoRA.Gateway.Services;

/// <summary>Checks every service with grpc.health.v1 Check on a timer and marks it healthy (SERVING) or not; a healthy
/// one is also asked for its id and queue (GetServiceInfo), which routing uses.</summary>
public sealed partial class HealthMonitor(GpuServicePool pool, ServiceRouter router, IOptions<GatewayOptions> options, ILogger<HealthMonitor> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.HealthCheckIntervalSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.WhenAll(pool.Endpoints.Select(e => CheckAsync(e, stoppingToken))).ConfigureAwait(false);
            try
            {
                await Task.Delay(interval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One Check of <paramref name="endpoint"/>; records and logs the outcome.</summary>
    public async Task CheckAsync(ServiceEndpoint endpoint, CancellationToken cancellationToken)
    {
        bool healthy;
        string? error = null;
        try
        {
            var reply = await pool.HealthClient(endpoint).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(3),
                cancellationToken: cancellationToken).ConfigureAwait(false);
            healthy = reply.Status == HealthCheckResponse.Types.ServingStatus.Serving;
            if (!healthy) error = $"health status {reply.Status}";
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            healthy = false;
            error = $"{e.StatusCode}: {e.Status.Detail}";
        }
        catch (OperationCanceledException)
        {
            return;
        }
        if (healthy && await router.RefreshAsync(endpoint, cancellationToken).ConfigureAwait(false) is null) return;
        if (endpoint.Mark(healthy, error))
        {
            if (healthy) LogHealthy(logger, endpoint.Address);
            else LogUnhealthy(logger, endpoint.Address, error);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "GPU service {Address} is healthy")]
    private static partial void LogHealthy(ILogger logger, Uri address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GPU service {Address} is unavailable: {Reason}")]
    private static partial void LogUnhealthy(ILogger logger, Uri address, string? reason);
}
