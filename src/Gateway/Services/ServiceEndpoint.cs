namespace TLoRA.Gateway.Services;

/// <summary>One configured GPU service: its address, the names of its generated clients, and what the gateway last
/// learnt about it (health, the service id its job ids start with, its queue).</summary>
public sealed class ServiceEndpoint(Uri address, int index)
{
    private readonly Lock gate = new();

    public Uri Address { get; } = address;
    /// <summary>Its place in Gateway:Services.</summary>
    public int Index { get; } = index;
    /// <summary>The named client (Grpc.Net.ClientFactory) of tlora.v1.TLoRAService for this service.</summary>
    public string ClientName { get; } = ClientNameOf(index);
    /// <summary>The named client of grpc.health.v1.Health for this service.</summary>
    public string HealthClientName { get; } = HealthClientNameOf(index);

    public static string ClientNameOf(int index) => $"tlora-{index}";

    public static string HealthClientNameOf(int index) => $"health-{index}";

    /// <summary>Null until the first health check or call; then whether it answered SERVING.</summary>
    public bool? Healthy { get; private set; }
    public string? LastError { get; private set; }
    public DateTimeOffset? CheckedAt { get; private set; }
    /// <summary>The id every job id of this service starts with (from GetServiceInfo); null until learnt.</summary>
    public string? ServiceId { get; private set; }
    /// <summary>Jobs waiting plus the one running, as last read.</summary>
    public int? Load { get; private set; }

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

    public void Learn(string serviceId, int load)
    {
        lock (gate)
        {
            ServiceId = serviceId;
            Load = load;
        }
    }
}

/// <summary>No GPU service can take the call; the message says why (answered as 503).</summary>
public sealed class ServiceUnavailableException(string message) : Exception(message);

/// <summary>No configured service owns the id (answered as 404).</summary>
public sealed class UnknownOwnerException(string message) : Exception(message);
