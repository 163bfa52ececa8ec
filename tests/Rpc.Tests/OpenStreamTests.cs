using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using TLoRA.Rpc.Client;
using TLoRA.Rpc.Server;
using TLoRA.Testing.V1;

namespace TLoRA.Rpc.Tests;

/// <summary>A server stream that stays open after its messages (a watch): every message must reach the client as
/// soon as it has arrived, also when several arrive in one read, not only once more bytes or the trailers follow.</summary>
public sealed class OpenStreamTests
{
    /// <summary>Echo whose Stream writes its messages, then holds the stream open until the client leaves.</summary>
    public sealed class HoldingEcho
    {
        public Task<EchoReply> Say(EchoRequest request, ServerCallContext context) => Task.FromResult(new EchoReply());

        public async Task Stream(StreamRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
        {
            for (var i = 0; i < request.Count; i++) await responseStream.WriteAsync(new EchoReply { Index = i }, context.CancellationToken);
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        }

        public Task<EchoReply> Fail(FailRequest request, ServerCallContext context) => Task.FromResult(new EchoReply());

        public Task<EchoReply> Slow(SlowRequest request, ServerCallContext context) => Task.FromResult(new EchoReply());
    }

    [Fact]
    public async Task Messages_that_arrive_together_are_all_read_while_the_stream_stays_open()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.ListenRpc(IPAddress.Loopback, 0));
        builder.Services.AddRpcServer();
        await using var app = builder.Build();
        app.MapGrpcService<HoldingEcho>(EchoReflection.Descriptor.Services[0]);
        await app.StartAsync();
        using var channel = new RpcChannel(new Uri($"http://127.0.0.1:{RpcServerHost.GetListeningAddresses(app.Services)[0].Port}"));

        using var call = channel.ServerStreaming<StreamRequest, EchoReply>(EchoClientServerTests.StreamMethod, new StreamRequest { Count = 3 });
        await call.ResponseHeadersAsync;
        await Task.Delay(500); // all three are buffered before the first read, so one read returns them together
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var indices = new List<int>();
        await using (var e = call.GetAsyncEnumerator(timeout.Token))
        {
            while (indices.Count < 3 && await e.MoveNextAsync()) indices.Add(e.Current.Index);
        }
        Assert.Equal([0, 1, 2], indices);
        await app.StopAsync();
    }
}
