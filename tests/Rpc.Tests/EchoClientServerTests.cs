using Google.Protobuf;
using TLoRA.Rpc.Client;
using TLoRA.Rpc.Tests.Support;
using TLoRA.Testing.V1;

namespace TLoRA.Rpc.Tests;

/// <summary>Our client against our server: every behaviour a gRPC client can observe.</summary>
public sealed class EchoClientServerTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    public const string Say = "/tlora.testing.v1.Echo/Say";
    public const string StreamMethod = "/tlora.testing.v1.Echo/Stream";
    public const string Fail = "/tlora.testing.v1.Echo/Fail";
    public const string Slow = "/tlora.testing.v1.Echo/Slow";
    public const string NonAscii = "größe ✓ 日本 100% «ok»\n";

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private RpcChannel Channel => fixture.Channel;

    [Fact]
    public async Task Unary_round_trips_text_and_bytes()
    {
        var reply = await Channel.UnaryAsync<EchoRequest, EchoReply>(Say,
            new EchoRequest { Text = "hello", Payload = ByteString.CopyFrom(1, 2, 3) });
        Assert.Equal("hello", reply.Text);
        Assert.Equal(new byte[] { 1, 2, 3 }, reply.Payload.ToByteArray());
    }

    [Fact]
    public async Task Unary_by_descriptor_uses_the_same_path()
    {
        var method = EchoReflection.Descriptor.Services[0].FindMethodByName("Say");
        var reply = await Channel.UnaryAsync<EchoRequest, EchoReply>(method, new EchoRequest { Text = "via descriptor" });
        Assert.Equal("via descriptor", reply.Text);
    }

    [Fact]
    public async Task Metadata_ascii_and_binary_round_trip_in_headers_and_trailers()
    {
        var bytes = new byte[] { 0, 1, 2, 250, 251, 255, 10 };
        var result = await Channel.UnaryCallAsync<EchoRequest, EchoReply>(Say, new EchoRequest { Text = "m" },
            new CallOptions(Headers: new Metadata().Add("x-echo", "plain value").Add("x-echo-bin", bytes)));
        Assert.Equal("plain value", result.ResponseHeaders.GetValue("x-echo"));
        Assert.Equal(bytes, result.ResponseHeaders.GetValueBytes("x-echo-bin"));
        Assert.Equal("plain value", result.Trailers.GetValue("x-echo"));
        Assert.Equal(bytes, result.Trailers.GetValueBytes("x-echo-bin"));
    }

    [Fact]
    public async Task Server_stream_delivers_150_messages_in_order_then_OK()
    {
        using var call = Channel.ServerStreaming<StreamRequest, EchoReply>(StreamMethod,
            new StreamRequest { Text = "s", Count = 150 });
        var indices = new List<int>();
        await foreach (var reply in call) indices.Add(reply.Index);
        Assert.Equal(Enumerable.Range(0, 150), indices);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.NotNull(await call.ResponseHeadersAsync);
    }

    [Fact]
    public async Task Empty_stream_is_a_trailers_only_OK()
    {
        using var call = Channel.ServerStreaming<StreamRequest, EchoReply>(StreamMethod, new StreamRequest { Count = 0 });
        var count = 0;
        await foreach (var _ in call) count++;
        Assert.Equal(0, count);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Deadline_on_a_stream_ends_it_with_DEADLINE_EXCEEDED()
    {
        using var call = Channel.ServerStreaming<StreamRequest, EchoReply>(StreamMethod,
            new StreamRequest { Count = 1_000_000, DelayMs = 10 }, new CallOptions(DateTime.UtcNow.AddMilliseconds(1500)));
        var received = 0;
        var ex = await Assert.ThrowsAsync<RpcException>(async () => { await foreach (var _ in call) received++; });
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.InRange(received, 1, 1000);
    }

    [Fact]
    public async Task Deadline_exceeded_fails_the_call_and_cancels_the_handler()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Channel.UnaryAsync<SlowRequest, EchoReply>(Slow,
            new SlowRequest { DelayMs = 30_000, Tag = "cs-deadline" }, new CallOptions(DateTime.UtcNow.AddMilliseconds(1000))));
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        // The handler's token fires: from the server's own deadline timer or from the client's RST_STREAM, which
        // usually arrives first (the client's clock started earlier), exactly as with other gRPC servers.
        Assert.Equal("cancelled", await fixture.Server.Probe.WaitOutcomeAsync("cs-deadline", Wait));
    }

    [Fact]
    public async Task Deadline_already_past_fails_without_calling()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Channel.UnaryAsync<EchoRequest, EchoReply>(Say,
            new EchoRequest(), new CallOptions(DateTime.UtcNow.AddSeconds(-1))));
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
    }

    [Fact]
    public async Task Cancellation_resets_the_stream_and_fires_the_handler_token()
    {
        using var cts = new CancellationTokenSource();
        var task = Channel.UnaryAsync<SlowRequest, EchoReply>(Slow, new SlowRequest { DelayMs = 30_000, Tag = "cs-cancel" },
            new CallOptions(CancellationToken: cts.Token));
        await fixture.Server.Probe.WaitStartedAsync("cs-cancel", Wait);
        cts.Cancel();
        var ex = await Assert.ThrowsAsync<RpcException>(() => task);
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
        Assert.Equal("cancelled", await fixture.Server.Probe.WaitOutcomeAsync("cs-cancel", Wait));
        await fixture.Server.Logs.WaitForAsync(m => m.Contains("Echo/Slow") && m.Contains("CANCELLED"), Wait);
    }

    [Fact]
    public async Task Leaving_a_stream_early_cancels_it_on_the_server()
    {
        using var call = Channel.ServerStreaming<StreamRequest, EchoReply>(StreamMethod,
            new StreamRequest { Text = "early", Count = 1_000_000, DelayMs = 1 });
        await foreach (var reply in call)
        {
            if (reply.Index == 3) break;
        }
        await fixture.Server.Logs.WaitForAsync(m => m.Contains("Echo/Stream") && m.Contains("CANCELLED"), Wait);
    }

    [Fact]
    public async Task Oversized_request_is_RESOURCE_EXHAUSTED_naming_size_and_limit()
    {
        var payload = ByteString.CopyFrom(new byte[5 * 1024 * 1024]);
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            Channel.UnaryAsync<EchoRequest, EchoReply>(Say, new EchoRequest { Payload = payload }));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("4194304", ex.Status.Detail);
        Assert.Contains((5 * 1024 * 1024 + 5).ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Status.Detail);
    }

    [Fact]
    public async Task Oversized_response_is_RESOURCE_EXHAUSTED_on_the_client()
    {
        using var channel = fixture.Server.CreateChannel(new RpcChannelOptions { MaxReceiveMessageSize = 1000 });
        using var call = channel.ServerStreaming<StreamRequest, EchoReply>(StreamMethod,
            new StreamRequest { Count = 3, PayloadSize = 2000 });
        var ex = await Assert.ThrowsAsync<RpcException>(async () => { await foreach (var _ in call) { } });
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("vs. 1000", ex.Status.Detail);
    }

    [Theory]
    [InlineData("/tlora.testing.v1.Echo/Nope", "Method is unimplemented")]
    [InlineData("/tlora.testing.v1.Nope/Say", "Service is unimplemented")]
    [InlineData("/no/such/path", "Service is unimplemented")]
    public async Task Unknown_method_or_service_is_UNIMPLEMENTED(string path, string detail)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Channel.UnaryAsync<EchoRequest, EchoReply>(path, new EchoRequest()));
        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
        Assert.StartsWith(detail, ex.Status.Detail);
    }

    [Theory]
    [InlineData(StatusCode.FailedPrecondition, NonAscii)]
    [InlineData(StatusCode.NotFound, "plain ascii")]
    [InlineData(StatusCode.InvalidArgument, "%41 is not A; tab\tand emoji 🚀")]
    [InlineData(StatusCode.Aborted, "")]
    public async Task Error_status_and_message_round_trip_exactly(StatusCode code, string message)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Channel.UnaryAsync<FailRequest, EchoReply>(Fail,
            new FailRequest { Code = (int)code, Message = message }));
        Assert.Equal(code, ex.StatusCode);
        Assert.Equal(message, ex.Status.Detail);
    }

    [Fact]
    public async Task Handler_exception_is_UNKNOWN_without_internals_and_is_logged()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Channel.UnaryAsync<FailRequest, EchoReply>(Fail,
            new FailRequest { ThrowException = true }));
        Assert.Equal(StatusCode.Unknown, ex.StatusCode);
        Assert.DoesNotContain("hunter2", ex.Status.Detail);
        Assert.DoesNotContain("InvalidOperationException", ex.Status.Detail);
        Assert.Contains(fixture.Server.Logs.Entries, e => e.Exception?.Message == EchoService.SecretExceptionText);
    }

    [Fact]
    public async Task Many_concurrent_calls_share_the_channel()
    {
        var tasks = Enumerable.Range(0, 200).Select(i =>
            Channel.UnaryAsync<EchoRequest, EchoReply>(Say, new EchoRequest { Text = $"c{i}" })).ToArray();
        var replies = await Task.WhenAll(tasks);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"c{i}"), replies.Select(r => r.Text));
    }
}
