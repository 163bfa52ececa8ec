using System.Threading.Channels;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace TLoRA.Rpc.Health;

/// <summary>
/// The serving status of each service name for grpc.health.v1 ("" is the whole server, SERVING from the start).
/// The host updates it; Watch calls see every change.
/// </summary>
public sealed class HealthStatusRegistry
{
    /// <summary>The service name of the server as a whole.</summary>
    public const string Server = "";

    private readonly object _gate = new();
    private readonly Dictionary<string, ServingStatus> _statuses = new(StringComparer.Ordinal) { [Server] = ServingStatus.Serving };
    private readonly List<(string Service, ChannelWriter<ServingStatus> Writer)> _watchers = [];
    private bool _terminal;

    /// <summary>Sets the status of <paramref name="service"/> (ignored once the server is shutting down).</summary>
    public void SetStatus(string service, ServingStatus status)
    {
        ArgumentNullException.ThrowIfNull(service);
        lock (_gate)
        {
            if (_terminal) return;
            _statuses[service] = status;
            Notify(service, status);
        }
    }

    /// <summary>Forgets <paramref name="service"/>: Check answers NOT_FOUND, watchers see SERVICE_UNKNOWN.</summary>
    public bool ClearStatus(string service)
    {
        lock (_gate)
        {
            if (_terminal || !_statuses.Remove(service)) return false;
            Notify(service, ServingStatus.ServiceUnknown);
            return true;
        }
    }

    /// <summary>The status of <paramref name="service"/>; false when it is unknown.</summary>
    public bool TryGetStatus(string service, out ServingStatus status)
    {
        lock (_gate) return _statuses.TryGetValue(service, out status);
    }

    /// <summary>Every known service turns NOT_SERVING and stays so (called when the host starts stopping).</summary>
    public void EnterTerminalState()
    {
        lock (_gate)
        {
            if (_terminal) return;
            foreach (var service in _statuses.Keys.ToList())
            {
                _statuses[service] = ServingStatus.NotServing;
                Notify(service, ServingStatus.NotServing);
            }
            _terminal = true;
        }
    }

    /// <summary>
    /// The current status of <paramref name="service"/> (SERVICE_UNKNOWN when unknown), then each change until
    /// <paramref name="cancellationToken"/> fires. A slow reader sees the latest status, not every intermediate one.
    /// </summary>
    public async IAsyncEnumerable<ServingStatus> WatchAsync(string service,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateBounded<ServingStatus>(new BoundedChannelOptions(1)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        var entry = (service, channel.Writer);
        lock (_gate)
        {
            channel.Writer.TryWrite(_statuses.TryGetValue(service, out var current) ? current : ServingStatus.ServiceUnknown);
            _watchers.Add(entry);
        }
        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var status)) yield return status;
            }
        }
        finally
        {
            lock (_gate) _watchers.Remove(entry);
        }
    }

    private void Notify(string service, ServingStatus status)
    {
        foreach (var (watched, writer) in _watchers)
        {
            if (watched == service) writer.TryWrite(status);
        }
    }
}
