using Google.Protobuf;
using TLoRA.Rpc.Tests.Support;
using TLoRA.Testing.V1;

namespace TLoRA.Rpc.Tests;

public sealed class ServerOptionsTests
{
    [Fact]
    public async Task MaxReceiveMessageSize_is_configurable()
    {
        await using var server = await EchoServer.StartAsync(o => o.MaxReceiveMessageSize = 1000);
        using var channel = server.CreateChannel();
        var ok = await channel.UnaryAsync<EchoRequest, EchoReply>(EchoClientServerTests.Say,
            new EchoRequest { Payload = ByteString.CopyFrom(new byte[900]) });
        Assert.Equal(900, ok.Payload.Length);
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync<EchoRequest, EchoReply>(EchoClientServerTests.Say,
            new EchoRequest { Payload = ByteString.CopyFrom(new byte[1000]) }));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Equal("Received message larger than max (1003 vs. 1000)", ex.Status.Detail);
    }

    [Fact]
    public async Task MaxSendMessageSize_fails_the_call_with_RESOURCE_EXHAUSTED()
    {
        await using var server = await EchoServer.StartAsync(o => o.MaxSendMessageSize = 100);
        using var channel = server.CreateChannel();
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync<EchoRequest, EchoReply>(EchoClientServerTests.Say,
            new EchoRequest { Payload = ByteString.CopyFrom(new byte[200]) }));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task EnableDetailedErrors_sends_the_exception_text()
    {
        await using var server = await EchoServer.StartAsync(o => o.EnableDetailedErrors = true);
        using var channel = server.CreateChannel();
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync<FailRequest, EchoReply>(EchoClientServerTests.Fail,
            new FailRequest { ThrowException = true }));
        Assert.Equal(StatusCode.Unknown, ex.StatusCode);
        Assert.Contains(EchoService.SecretExceptionText, ex.Status.Detail);
    }
}
