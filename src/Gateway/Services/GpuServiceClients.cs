using Grpc.Core;
using Grpc.Net.Client.Configuration;
using TLoRA.Contracts.V1;
using Health = Grpc.Health.V1.Health;

namespace TLoRA.Gateway.Services;

/// <summary>
/// Registers the generated clients of each configured GPU service with Grpc.Net.ClientFactory: a tlora.v1 client and
/// a grpc.health.v1 client per service, over HTTP/2 connections that send keep-alive pings while calls are open.
/// A service that went away is reconnected to at most Gateway:ReconnectBackoffMaxSeconds apart.
/// Calls that only read are retried on UNAVAILABLE (Grpc.Net.Client's retry policy, before any response arrives);
/// submissions, cancel and resume never are.
/// </summary>
public static class GpuServiceClients
{
    /// <summary>The rpcs that may safely run twice.</summary>
    public static readonly IReadOnlyList<string> Idempotent =
        ["GetJob", "ListJobs", "ListModels", "InspectAdapter", "GetServiceInfo", "WatchJob", "DownloadAdapter", "DownloadImage"];

    public static IServiceCollection AddGpuServiceClients(this IServiceCollection services, GatewayOptions options)
    {
        for (var i = 0; i < options.Services.Count; i++)
        {
            var address = new Uri(options.Services[i]);
            services.AddGrpcClient<TLoRAService.TLoRAServiceClient>(ServiceEndpoint.ClientNameOf(i), o => o.Address = address)
                .ConfigureChannel(c =>
                {
                    c.MaxReceiveMessageSize = options.MaxReceiveMessageSize;
                    c.MaxReconnectBackoff = TimeSpan.FromSeconds(options.ReconnectBackoffMaxSeconds);
                    c.ServiceConfig = new ServiceConfig { MethodConfigs = { Retry(TLoRAService.Descriptor.FullName, Idempotent) } };
                })
                .ConfigurePrimaryHttpMessageHandler(() => Handler(options))
                .AddHttpMessageHandler(() => new ServiceCallHeaders(options.ServiceToken));
            services.AddGrpcClient<Health.HealthClient>(ServiceEndpoint.HealthClientNameOf(i), o => o.Address = address)
                .ConfigureChannel(c =>
                {
                    c.ServiceConfig = new ServiceConfig { MethodConfigs = { Retry(Health.Descriptor.FullName, ["Check"]) } };
                    c.MaxReconnectBackoff = TimeSpan.FromSeconds(options.ReconnectBackoffMaxSeconds);
                })
                .ConfigurePrimaryHttpMessageHandler(() => Handler(options));
        }
        return services;
    }

    private static MethodConfig Retry(string service, IEnumerable<string> methods)
    {
        var config = new MethodConfig
        {
            RetryPolicy = new RetryPolicy
            {
                MaxAttempts = 3,
                InitialBackoff = TimeSpan.FromMilliseconds(200),
                MaxBackoff = TimeSpan.FromSeconds(2),
                BackoffMultiplier = 2,
                RetryableStatusCodes = { StatusCode.Unavailable },
            },
        };
        foreach (var m in methods) config.Names.Add(new MethodName { Service = service, Method = m });
        return config;
    }

    private static SocketsHttpHandler Handler(GatewayOptions options) => new()
    {
        KeepAlivePingDelay = TimeSpan.FromSeconds(options.KeepAlivePingSeconds),
        KeepAlivePingTimeout = TimeSpan.FromSeconds(options.KeepAlivePingTimeoutSeconds),
        KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        EnableMultipleHttp2Connections = true,
        ConnectTimeout = TimeSpan.FromSeconds(5),
    };
}
