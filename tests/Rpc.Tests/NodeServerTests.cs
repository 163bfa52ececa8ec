using Google.Protobuf;
using TLoRA.Rpc.Client;
using TLoRA.Rpc.Tests.Support;
using TLoRA.Testing.V1;

namespace TLoRA.Rpc.Tests;

/// <summary>Our client against a real gRPC server (Node @grpc/grpc-js): the client half of the transport.</summary>
public sealed class NodeServerTests(NodeServerRun node) : IClassFixture<NodeServerRun>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private RpcChannel Channel => node.Channel;

    [Fact]
    public async Task Unary()
    {
        var reply = await Channel.UnaryAsync<EchoRequest, EchoReply>(EchoClientServerTests.Say,
            new EchoRequest { Text = "to node", Payload = ByteString.CopyFrom(9, 8, 7) });
        Assert.Equal("to node", reply.Text);
        Assert.Equal(new byte[] { 9, 8, 7 }, reply.Payload.ToByteArray());
    }

    [Fact]
    public async Task Metadata_round_trips_in_headers_and_trailers()
    {
        var bytes = new byte[] { 0, 1, 0xfa, 0xff };
        var result = await Channel.UnaryCallAsync<EchoRequest, EchoReply>(EchoClientServerTests.Say, new EchoRequest(),
            new CallOptions(Headers: new Metadata().Add("x-echo", "plain value").Add("x-echo-bin", bytes)));
        Assert.Equal("plain value", result.ResponseHeaders.GetValue("x-echo"));
        Assert.Equal(bytes, result.ResponseHeaders.GetValueBytes("x-echo-bin"));
        Assert.Equal("plain value", result.Trailers.GetValue("x-echo"));
        Assert.Equal(bytes, result.Trailers.GetValueBytes("x-echo-bin"));
    }

    [Fact]
    public async Task Stream_of_150_in_order()
    {
        using var call = Channel.ServerStreaming<StreamRequest, EchoReply>(EchoClientServerTests.StreamMethod,
            new StreamRequest { Text = "n", Count = 150 });
        var indices = new List<int>();
        await foreach (var reply in call) indices.Add(reply.Index);
        Assert.Equal(Enumerable.Range(0, 150), indices);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Deadline_exceeded_and_the_server_sees_the_cancellation()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Channel.UnaryAsync<SlowRequest, EchoReply>(EchoClientServerTests.Slow,
            new SlowRequest { DelayMs = 30_000, Tag = "cs-deadline" }, new CallOptions(DateTime.UtcNow.AddSeconds(1))));
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.Equal("cancelled", await node.WaitSlowOutcomeAsync("cs-deadline", Wait));
    }

    [Fact]
    public async Task Cancellation_sends_RST_STREAM_that_the_server_sees()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var ex = await Assert.ThrowsAsync<RpcException>(() => Channel.UnaryAsync<SlowRequest, EchoReply>(EchoClientServerTests.Slow,
            new SlowRequest { DelayMs = 30_000, Tag = "cs-cancel" }, new CallOptions(CancellationToken: cts.Token)));
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
        Assert.Equal("cancelled", await node.WaitSlowOutcomeAsync("cs-cancel", Wait));
    }

    [Fact]
    public async Task Cancelling_a_stream_midway_stops_it_on_the_server()
    {
        using var cts = new CancellationTokenSource();
        using var call = Channel.ServerStreaming<StreamRequest, EchoReply>(EchoClientServerTests.StreamMethod,
            new StreamRequest { Count = 100_000, DelayMs = 5 }, new CallOptions(CancellationToken: cts.Token));
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var reply in call)
            {
                if (reply.Index == 5) cts.Cancel();
            }
        });
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
    }

    [Fact]
    public async Task Oversized_request_is_RESOURCE_EXHAUSTED_from_the_server()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Channel.UnaryAsync<EchoRequest, EchoReply>(EchoClientServerTests.Say,
            new EchoRequest { Payload = ByteString.CopyFrom(new byte[5 * 1024 * 1024]) }));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task Oversized_response_is_RESOURCE_EXHAUSTED_from_the_client_limit()
    {
        using var call = Channel.ServerStreaming<StreamRequest, EchoReply>(EchoClientServerTests.StreamMethod,
            new StreamRequest { Count = 2, PayloadSize = 5 * 1024 * 1024 });
        var ex = await Assert.ThrowsAsync<RpcException>(async () => { await foreach (var _ in call) { } });
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("vs. 4194304", ex.Status.Detail);
    }

    [Fact]
    public async Task Unknown_method_is_UNIMPLEMENTED()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            Channel.UnaryAsync<EchoRequest, EchoReply>("/tlora.testing.v1.Echo/Nope", new EchoRequest()));
        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
    }

    [Theory]
    [InlineData(StatusCode.FailedPrecondition, EchoClientServerTests.NonAscii)]
    [InlineData(StatusCode.InvalidArgument, "%41 is not A; tab\tand emoji 🚀")]
    [InlineData(StatusCode.NotFound, "plain")]
    public async Task Error_status_and_message_round_trip_exactly(StatusCode code, string message)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Channel.UnaryAsync<FailRequest, EchoReply>(EchoClientServerTests.Fail,
            new FailRequest { Code = (int)code, Message = message }));
        Assert.Equal(code, ex.StatusCode);
        Assert.Equal(message, ex.Status.Detail);
    }

    [Fact]
    public async Task Server_handler_exception_is_UNKNOWN()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Channel.UnaryAsync<FailRequest, EchoReply>(EchoClientServerTests.Fail,
            new FailRequest { ThrowException = true }));
        Assert.Equal(StatusCode.Unknown, ex.StatusCode);
    }
}
