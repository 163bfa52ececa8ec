using TLoRA.Rpc.Tests.Support;
using TLoRA.Testing.V1;

namespace TLoRA.Rpc.Tests;

public sealed class ShutdownTests
{
    [Fact]
    public async Task Shutdown_cancels_in_flight_calls_with_UNAVAILABLE_and_refuses_new_ones()
    {
        var server = await EchoServer.StartAsync();
        using var channel = server.CreateChannel();
        var slow = channel.UnaryAsync<SlowRequest, EchoReply>(EchoClientServerTests.Slow,
            new SlowRequest { DelayMs = 60_000, Tag = "shutdown" });
        var stream = Task.Run(async () =>
        {
            using var call = channel.ServerStreaming<StreamRequest, EchoReply>(EchoClientServerTests.StreamMethod,
                new StreamRequest { Count = 1_000_000, DelayMs = 10 });
            await foreach (var _ in call) { }
        });
        await server.Probe.WaitStartedAsync("shutdown", TimeSpan.FromSeconds(10));

        var stop = server.DisposeAsync().AsTask();
        var ex = await Assert.ThrowsAsync<RpcException>(() => slow);
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Equal("cancelled", await server.Probe.WaitOutcomeAsync("shutdown", TimeSpan.FromSeconds(10)));
        var streamEx = await Assert.ThrowsAsync<RpcException>(() => stream);
        Assert.Equal(StatusCode.Unavailable, streamEx.StatusCode);
        await stop.WaitAsync(TimeSpan.FromSeconds(20));

        var after = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync<EchoRequest, EchoReply>(
            EchoClientServerTests.Say, new EchoRequest { Text = "late" }));
        Assert.Equal(StatusCode.Unavailable, after.StatusCode);
    }
}
