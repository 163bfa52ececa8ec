using TLoRA.Rpc.Client;

namespace TLoRA.Gateway.Services;

/// <summary>One GPU service: its channel and what the gateway last learnt about its health.</summary>
public sealed class ServiceEndpoint(Uri address) : IDisposable
{
    private readonly Lock gate = new();

    public Uri Address { get; } = address;
    public RpcChannel Channel { get; } = new(address);

    /// <summary>Null until the first health check or call; then whether it answered.</summary>
    public bool? Healthy { get; private set; }
    public string? LastError { get; private set; }
    public DateTimeOffset? CheckedAt { get; private set; }

    /// <summary>Records an outcome; returns true when the health changed.</summary>
    public bool Mark(bool healthy, string? error)
    {
        lock (gate)
        {
            var changed = Healthy != healthy;
            Healthy = healthy;
            LastError = healthy ? null : error;
            CheckedAt = DateTimeOffset.UtcNow;
            return changed;
        }
    }

    public void Dispose() => Channel.Dispose();
}

/// <summary>No GPU service can take the call; the message says why (answered as 503).</summary>
public sealed class ServiceUnavailableException(string message) : Exception(message);
