using Grpc.Net.ClientFactory;
using Microsoft.Extensions.Options;
using TLoRA.Contracts.V1;
using Health = Grpc.Health.V1.Health;

namespace TLoRA.Gateway.Services;

/// <summary>The configured GPU services and their generated clients. Calls go to services that are healthy or not yet
/// checked; the health monitor (and every call that fails with UNAVAILABLE) keeps the marks current, so a service
/// that comes back is used again without a restart.</summary>
public sealed class GpuServicePool(IOptions<GatewayOptions> options, IServiceProvider services)
{
    // Resolved when first used: with no valid service configured there is no client factory, and the options
    // validation at start says why.
    private GrpcClientFactory Clients => services.GetRequiredService<GrpcClientFactory>();

    public IReadOnlyList<ServiceEndpoint> Endpoints { get; } = options.Value.Services
        .Where(s => Uri.TryCreate(s, UriKind.Absolute, out _)).Select((s, i) => new ServiceEndpoint(new Uri(s), i)).ToArray();

    public TLoRAService.TLoRAServiceClient Client(ServiceEndpoint e) => Clients.CreateClient<TLoRAService.TLoRAServiceClient>(e.ClientName);

    public Health.HealthClient HealthClient(ServiceEndpoint e) => Clients.CreateClient<Health.HealthClient>(e.HealthClientName);

    /// <summary>Services worth calling now; throws <see cref="ServiceUnavailableException"/> when there are none.</summary>
    public IReadOnlyList<ServiceEndpoint> Available()
    {
        var usable = Endpoints.Where(e => e.Healthy != false).ToArray();
        return usable.Length > 0 ? usable : throw new ServiceUnavailableException(UnavailableReason());
    }

    /// <summary>The service whose job ids start with <paramref name="serviceId"/>, if known.</summary>
    public ServiceEndpoint? WithId(string serviceId) => Endpoints.FirstOrDefault(e => e.ServiceId == serviceId);

    /// <summary>For the log (callers are told no more than that no service can answer): each service as it stands,
    /// a healthy one called healthy.</summary>
    public string UnavailableReason() =>
        "no GPU service is available (" + string.Join("; ", Endpoints.Select(e => $"{e.Address}: " + e.Healthy switch
        {
            true => "healthy",
            null => "not checked yet",
            false => e.LastError ?? "unavailable",
        })) + ")";
}
