using Grpc.Health.V1;
using Microsoft.Extensions.Options;
using TLoRA.Rpc;
using TLoRA.Rpc.Client;

namespace TLoRA.Gateway.Services;

/// <summary>Checks every service with grpc.health.v1 Check on a timer and marks it healthy or not.</summary>
public sealed partial class HealthMonitor(GpuServicePool pool, IOptions<GatewayOptions> options, ILogger<HealthMonitor> logger) : BackgroundService
{
    public const string CheckMethod = "/grpc.health.v1.Health/Check";

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
            var reply = await endpoint.Channel.UnaryAsync<HealthCheckRequest, HealthCheckResponse>(CheckMethod, new HealthCheckRequest(),
                new CallOptions(DateTime.UtcNow.AddSeconds(3), CancellationToken: cancellationToken)).ConfigureAwait(false);
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
