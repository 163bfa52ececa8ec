using Grpc.Health.V1;
using TLoRA.Rpc.Server;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace TLoRA.Rpc.Health;

/// <summary>
/// The standard grpc.health.v1.Health service over a <see cref="HealthStatusRegistry"/>. Map it with
/// <c>endpoints.MapGrpcHealthService()</c>.
/// </summary>
public sealed class HealthService(HealthStatusRegistry registry)
{
    /// <summary>The status of <c>request.Service</c>; NOT_FOUND when the name is unknown.</summary>
    public Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
    {
        if (!registry.TryGetStatus(request.Service, out var status))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"Unknown service '{request.Service}'."));
        }
        return Task.FromResult(new HealthCheckResponse { Status = status });
    }

    /// <summary>
    /// The current status at once (SERVICE_UNKNOWN for an unknown name, without ending the call), then every change,
    /// until the client cancels or the server shuts down.
    /// </summary>
    public async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responseStream,
        ServerCallContext context)
    {
        ServingStatus? last = null;
        await foreach (var status in registry.WatchAsync(request.Service, context.CancellationToken).ConfigureAwait(false))
        {
            if (status == last) continue;
            last = status;
            await responseStream.WriteAsync(new HealthCheckResponse { Status = status }, context.CancellationToken)
                .ConfigureAwait(false);
        }
    }
}
