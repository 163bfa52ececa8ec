using TLoRA.Rpc.Client;

namespace TLoRA.Rpc.Tests.Support;

/// <summary>One Echo server (default options) and one channel shared by a test class.</summary>
public sealed class EchoServerFixture : IAsyncLifetime
{
    private EchoServer? _server;
    private RpcChannel? _channel;

    public EchoServer Server => _server ?? throw new InvalidOperationException("not started");

    public RpcChannel Channel => _channel ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        _server = await EchoServer.StartAsync();
        _channel = _server.CreateChannel();
        // Warm up (JIT, connection) so that timing-sensitive tests measure the call, not the first-call costs.
        await _channel.UnaryAsync<TLoRA.Testing.V1.EchoRequest, TLoRA.Testing.V1.EchoReply>(
            "/tlora.testing.v1.Echo/Say", new TLoRA.Testing.V1.EchoRequest { Text = "warm-up" });
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (_server is not null) await _server.DisposeAsync();
    }
}
