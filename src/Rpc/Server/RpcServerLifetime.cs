using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace TLoRA.Rpc.Server;

/// <summary>
/// The server-wide state the transport needs: the shutdown signal (ApplicationStopping: new calls get UNAVAILABLE and
/// running calls are cancelled) and the services mapped so far.
/// </summary>
internal sealed class RpcServerLifetime(IServiceProvider services)
{
    private readonly HashSet<string> _services = [];

    public CancellationToken Stopping { get; } =
        services.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;

    /// <summary>Set once the catch-all UNIMPLEMENTED route exists.</summary>
    public bool FallbackMapped { get; set; }

    public void AddService(string fullName)
    {
        lock (_services) _services.Add(fullName);
    }

    public bool HasService(string fullName)
    {
        lock (_services) return _services.Contains(fullName);
    }
}
