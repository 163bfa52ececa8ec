using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace TLoRA.Rpc.Server;

/// <summary>Kestrel setup for gRPC endpoints.</summary>
public static class RpcServerHost
{
    /// <summary>
    /// Listens for gRPC on <paramref name="address"/>:<paramref name="port"/> (0: any free port). Without a certificate:
    /// cleartext HTTP/2 only (h2c with prior knowledge, what gRPC clients speak on http:// addresses). With one: TLS,
    /// HTTP/1.1 and HTTP/2 negotiated by ALPN. Also turns off Kestrel's "server" response header, which gRPC servers
    /// do not send.
    /// </summary>
    public static KestrelServerOptions ListenRpc(this KestrelServerOptions kestrel, IPAddress address, int port,
        X509Certificate2? certificate = null)
    {
        kestrel.AddServerHeader = false;
        kestrel.Listen(address, port, Configure(certificate));
        return kestrel;
    }

    /// <summary><see cref="ListenRpc(KestrelServerOptions, IPAddress, int, X509Certificate2?)"/> on every interface.</summary>
    public static KestrelServerOptions ListenRpc(this KestrelServerOptions kestrel, int port, X509Certificate2? certificate = null) =>
        ListenAny(kestrel, port, certificate);

    private static KestrelServerOptions ListenAny(KestrelServerOptions kestrel, int port, X509Certificate2? certificate)
    {
        kestrel.AddServerHeader = false;
        kestrel.ListenAnyIP(port, Configure(certificate));
        return kestrel;
    }

    private static Action<ListenOptions> Configure(X509Certificate2? certificate) => listen =>
    {
        if (certificate is null)
        {
            listen.Protocols = HttpProtocols.Http2;
        }
        else
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(certificate);
        }
    };

    /// <summary>The addresses the started server listens on, with the actual ports when port 0 was asked for.</summary>
    public static IReadOnlyList<Uri> GetListeningAddresses(IServiceProvider services)
    {
        var server = services.GetRequiredService<IServer>();
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        return addresses.Select(a => new Uri(a.Replace("[::]", "localhost", StringComparison.Ordinal))).ToList();
    }
}
