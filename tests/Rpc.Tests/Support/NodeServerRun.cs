using TLoRA.Rpc.Client;

namespace TLoRA.Rpc.Tests.Support;

/// <summary>A grpc-js Echo server (peers/node/echo_server.js) as a child process, for the C# client's tests.</summary>
public sealed class NodeServerRun : IAsyncLifetime
{
    private Exception? _failure;
    private PeerProcess? _peer;
    private RpcChannel? _channel;

    public PeerProcess Peer => _peer ?? throw Failure();

    public RpcChannel Channel => _channel ?? throw Failure();

    public Uri Address { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        try
        {
            var node = await PeerRuntimes.RequireNodeAsync();
            _peer = PeerProcess.Start(node, [Path.Combine(PeerRuntimes.NodePeers, "echo_server.js"), PeerRuntimes.Protos],
                PeerRuntimes.NodePeers);
            var listening = await _peer.WaitForLineAsync(l => l.TryGetProperty("event", out var e) && e.GetString() == "listening",
                TimeSpan.FromSeconds(60));
            Address = new Uri($"http://127.0.0.1:{listening.GetProperty("port").GetInt32()}");
            _channel = new RpcChannel(Address);
        }
        catch (Exception ex)
        {
            _failure = ex;
        }
    }

    /// <summary>Waits for the server's report that the Slow call <paramref name="tag"/> ended as <c>event</c>.</summary>
    public async Task<string> WaitSlowOutcomeAsync(string tag, TimeSpan timeout)
    {
        var line = await Peer.WaitForLineAsync(l => l.TryGetProperty("tag", out var t) && t.GetString() == tag, timeout);
        return line.GetProperty("event").GetString()!;
    }

    private InvalidOperationException Failure() =>
        new($"The grpc-js server peer did not start: {_failure?.Message}", _failure);

    public Task DisposeAsync()
    {
        _channel?.Dispose();
        _peer?.Dispose();
        return Task.CompletedTask;
    }
}
