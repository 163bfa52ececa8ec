using System.Text.Json;

namespace TLoRA.Rpc.Tests.Support;

/// <summary>
/// Runs one real gRPC client peer (its whole script of cases) against an in-process C# Echo server, once per test
/// class; each test then checks one case's JSON line. A missing runtime fails every test with what to install.
/// </summary>
public abstract class ClientPeerRun : IAsyncLifetime
{
    public static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(120);

    private Exception? _failure;
    private Dictionary<string, JsonElement> _cases = [];

    public EchoServer Server { get; private set; } = null!;

    /// <summary>The tag prefix the peer uses for Slow calls ("py", "node").</summary>
    public abstract string Prefix { get; }

    protected abstract Task<PeerProcess> StartPeerAsync(EchoServer server);

    public async Task InitializeAsync()
    {
        Server = await EchoServer.StartAsync();
        try
        {
            using var peer = await StartPeerAsync(Server);
            var exit = await peer.WaitForExitAsync(PeerTimeout);
            _cases = peer.Lines.Where(l => l.TryGetProperty("case", out _))
                .ToDictionary(l => l.GetProperty("case").GetString()!, l => l);
            if (exit != 0 || !_cases.ContainsKey("done"))
            {
                throw new InvalidOperationException($"The peer failed (exit {exit}).\n{peer.Transcript}");
            }
        }
        catch (Exception ex)
        {
            _failure = ex;
        }
    }

    /// <summary>The JSON line the peer printed for <paramref name="name"/>.</summary>
    public JsonElement Case(string name)
    {
        if (_failure is not null) throw new InvalidOperationException($"The {Prefix} peer did not run: {_failure.Message}", _failure);
        Assert.True(_cases.TryGetValue(name, out var line), $"The {Prefix} peer printed no line for case '{name}'.");
        return line;
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>Python grpcio (Debian's python3-grpcio) as the client.</summary>
public sealed class PythonClientRun : ClientPeerRun
{
    public override string Prefix => "py";

    protected override async Task<PeerProcess> StartPeerAsync(EchoServer server)
    {
        await PeerRuntimes.RequirePythonAsync();
        return PeerProcess.Start(PeerRuntimes.Python,
            [Path.Combine(PeerRuntimes.PythonPeers, "echo_client.py"), server.Target, PeerRuntimes.Protos, Prefix],
            PeerRuntimes.PythonPeers);
    }
}

/// <summary>Node @grpc/grpc-js as the client.</summary>
public sealed class NodeClientRun : ClientPeerRun
{
    public override string Prefix => "node";

    protected override async Task<PeerProcess> StartPeerAsync(EchoServer server)
    {
        var node = await PeerRuntimes.RequireNodeAsync();
        return PeerProcess.Start(node, [Path.Combine(PeerRuntimes.NodePeers, "echo_client.js"), server.Target, PeerRuntimes.Protos, Prefix],
            PeerRuntimes.NodePeers);
    }
}
