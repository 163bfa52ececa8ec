using Microsoft.Extensions.Options;

namespace TLoRA.Gateway.Services;

/// <summary>The configured GPU services. Calls go to services that are healthy or not yet checked; the health
/// monitor (and every call that fails with UNAVAILABLE) keeps the marks current, so a service that comes back is used
/// again without a restart.</summary>
public sealed class GpuServicePool : IDisposable
{
    private int next;

    public GpuServicePool(IOptions<GatewayOptions> options) =>
        Endpoints = options.Value.Services.Select(s => new ServiceEndpoint(new Uri(s))).ToArray();

    public IReadOnlyList<ServiceEndpoint> Endpoints { get; }

    /// <summary>Services worth calling now, round-robin ordered; throws when there are none.</summary>
    public IReadOnlyList<ServiceEndpoint> Available()
    {
        var usable = Endpoints.Where(e => e.Healthy != false).ToArray();
        if (usable.Length == 0)
        {
            var reasons = string.Join("; ", Endpoints.Select(e => $"{e.Address}: {e.LastError ?? "unavailable"}"));
            throw new ServiceUnavailableException($"no GPU service is available ({reasons})");
        }
        var start = (int)((uint)Interlocked.Increment(ref next) % (uint)usable.Length);
        return [.. usable[start..], .. usable[..start]];
    }

    public void Dispose()
    {
        foreach (var e in Endpoints) e.Dispose();
    }
}
