using Grpc.Core;
using Microsoft.Extensions.Options;
using TLoRA.Contracts.V1;

namespace TLoRA.Gateway.Services;

/// <summary>
/// Where calls go. A new job: the available services, least loaded first (queued jobs plus the running one, read
/// from each service at that moment; equal loads take turns). An id: the service whose id prefixes it
/// ("gpu-0.train-…"), learnt from the services' GetServiceInfo, so a gateway that has just started, or another
/// replica, finds the owner without any state of its own.
/// </summary>
public sealed partial class ServiceRouter(GpuServicePool pool, IOptions<GatewayOptions> options, ILogger<ServiceRouter> logger)
{
    private int turn;

    public async Task<IReadOnlyList<ServiceEndpoint>> ByLoadAsync(CancellationToken ct)
    {
        var available = pool.Available();
        if (available.Count == 1) return available;
        var loads = await Task.WhenAll(available.Select(async e => (Endpoint: e, Load: await RefreshAsync(e, ct).ConfigureAwait(false))))
            .ConfigureAwait(false);
        var start = Interlocked.Increment(ref turn);
        var order = loads.Where(x => x.Load is not null)
            .OrderBy(x => x.Load)
            .ThenBy(x => ((x.Endpoint.Index - start) % pool.Endpoints.Count + pool.Endpoints.Count) % pool.Endpoints.Count)
            .Select(x => x.Endpoint).ToArray();
        return order.Length > 0 ? order : throw new ServiceUnavailableException(pool.UnavailableReason());
    }

    /// <summary>The service that owns <paramref name="id"/>; null when the id names no service (the caller then asks
    /// each). Throws <see cref="UnknownOwnerException"/> for a service this gateway does not have, and
    /// <see cref="ServiceUnavailableException"/> when the owner may be one that does not answer now.</summary>
    public async Task<ServiceEndpoint?> OwnerAsync(string id, CancellationToken ct)
    {
        var dot = id.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0) return null;
        var serviceId = id[..dot];
        if (pool.WithId(serviceId) is { } known) return known;
        // not learnt yet (this gateway has just started, or the service was down): ask those whose id is unknown
        await Task.WhenAll(pool.Endpoints.Where(e => e.ServiceId is null).Select(e => RefreshAsync(e, ct))).ConfigureAwait(false);
        if (pool.WithId(serviceId) is { } found) return found;
        var silent = pool.Endpoints.Where(e => e.ServiceId is null).ToArray();
        if (silent.Length > 0)
            throw new ServiceUnavailableException($"'{id}' belongs to GPU service '{serviceId}', which may be one that does not answer now (" +
                string.Join("; ", silent.Select(e => $"{e.Address}: {e.LastError ?? "unavailable"}")) + ")");
        throw new UnknownOwnerException($"'{id}' belongs to GPU service '{serviceId}', which is not one of this gateway's services");
    }

    /// <summary>Reads the service's id and load (GetServiceInfo); null when it did not answer (then it is marked down).</summary>
    public async Task<int?> RefreshAsync(ServiceEndpoint endpoint, CancellationToken ct)
    {
        try
        {
            var info = await pool.Client(endpoint).GetServiceInfoAsync(new GetServiceInfoRequest(),
                deadline: DateTime.UtcNow.AddSeconds(Math.Min(5, options.Value.CallTimeoutSeconds)), cancellationToken: ct).ConfigureAwait(false);
            var load = info.QueuedJobs + (info.Running ? 1 : 0);
            if (endpoint.ServiceId != info.ServiceId) LogLearnt(logger, endpoint.Address, info.ServiceId);
            endpoint.Learn(info.ServiceId, load);
            return load;
        }
        // a probe with a short deadline that times out does mean the service is not answering
        catch (RpcException e) when (!ct.IsCancellationRequested && e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            endpoint.Mark(false, $"{e.StatusCode}: {e.Status.Detail}");
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "GPU service {Address} is '{ServiceId}'")]
    private static partial void LogLearnt(ILogger logger, Uri address, string serviceId);
}
