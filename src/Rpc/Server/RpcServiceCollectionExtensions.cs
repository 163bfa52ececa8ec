using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TLoRA.Rpc.Health;

namespace TLoRA.Rpc.Server;

/// <summary>Registers the gRPC server transport in DI.</summary>
public static class RpcServiceCollectionExtensions
{
    /// <summary>
    /// Adds the transport (options, shutdown handling, routing) and the health service with its
    /// <see cref="HealthStatusRegistry"/>. Call once before <c>MapGrpcService</c>. Services mapped later are resolved
    /// per call from the request scope when registered (register them scoped), else constructed with DI.
    /// </summary>
    public static IServiceCollection AddRpcServer(this IServiceCollection services, Action<RpcServerOptions>? configure = null)
    {
        services.AddRouting();
        services.AddOptions<RpcServerOptions>();
        if (configure is not null) services.Configure(configure);
        services.TryAddSingleton<RpcServerLifetime>();
        services.TryAddSingleton<HealthStatusRegistry>();
        services.TryAddScoped<HealthService>();
        return services;
    }
}
