using System.Net;
using System.Net.Sockets;

namespace TLoRA.Deploy.Tests.Support;

internal static class Ports
{
    /// <summary>A loopback port free right now (other helpers' servers run on this machine too: never a fixed one).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
