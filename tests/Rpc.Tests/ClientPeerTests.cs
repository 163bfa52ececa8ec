using System.Text.Json;
using TLoRA.Rpc.Tests.Support;

namespace TLoRA.Rpc.Tests;

/// <summary>
/// Real gRPC clients against our server: every case a client can observe. The same assertions for each peer.
/// </summary>
public abstract class ClientPeerTests<TRun>(TRun run) where TRun : ClientPeerRun
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static int Code(JsonElement line) => line.GetProperty("code").GetInt32();

    private static string Details(JsonElement line) =>
        line.TryGetProperty("details", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "";

    private static void AssertCode(StatusCode expected, JsonElement line) =>
        Assert.True(Code(line) == (int)expected, $"expected {expected} ({(int)expected}), got: {line}");

    [Fact]
    public void Unary()
    {
        var line = run.Case("unary");
        AssertCode(StatusCode.OK, line);
        Assert.Equal($"hello from {(run.Prefix == "py" ? "python" : "node")}", line.GetProperty("text").GetString());
        Assert.Equal("0001ff", line.GetProperty("payload").GetString());
    }

    [Fact]
    public void Metadata_ascii_and_binary_round_trip()
    {
        var line = run.Case("metadata");
        AssertCode(StatusCode.OK, line);
        foreach (var part in new[] { "headers", "trailers" })
        {
            var md = line.GetProperty(part);
            Assert.Equal("plain value", md.GetProperty("x-echo").GetString());
            Assert.Equal("0001faff", md.GetProperty("x-echo-bin").GetString());
        }
    }

    [Fact]
    public void Stream_of_150_in_order()
    {
        var line = run.Case("stream");
        AssertCode(StatusCode.OK, line);
        Assert.Equal(150, line.GetProperty("count").GetInt32());
        Assert.True(line.GetProperty("in_order").GetBoolean());
    }

    [Fact]
    public async Task Deadline_exceeded_and_the_handler_is_cancelled()
    {
        AssertCode(StatusCode.DeadlineExceeded, run.Case("deadline"));
        Assert.Equal("cancelled", await run.Server.Probe.WaitOutcomeAsync($"{run.Prefix}-deadline", Wait));
    }

    [Fact]
    public async Task Cancel_reaches_the_handler_token_and_is_logged_CANCELLED()
    {
        AssertCode(StatusCode.Cancelled, run.Case("cancel"));
        Assert.Equal("cancelled", await run.Server.Probe.WaitOutcomeAsync($"{run.Prefix}-cancel", Wait));
        await run.Server.Logs.WaitForAsync(m => m.Contains("Echo/Slow") && m.Contains("CANCELLED"), Wait);
    }

    [Fact]
    public void Oversized_request_is_RESOURCE_EXHAUSTED()
    {
        var line = run.Case("oversized");
        AssertCode(StatusCode.ResourceExhausted, line);
        Assert.Contains("4194304", Details(line));
    }

    [Theory]
    [InlineData("unknown_method")]
    [InlineData("unknown_service")]
    public void Unknown_method_or_service_is_UNIMPLEMENTED(string name) => AssertCode(StatusCode.Unimplemented, run.Case(name));

    [Fact]
    public void Non_ASCII_status_message_round_trips_exactly()
    {
        var line = run.Case("status_unicode");
        AssertCode(StatusCode.FailedPrecondition, line);
        Assert.Equal(EchoClientServerTests.NonAscii, Details(line));
    }

    [Fact]
    public void Handler_exception_is_UNKNOWN_without_internals()
    {
        var line = run.Case("exception");
        AssertCode(StatusCode.Unknown, line);
        Assert.DoesNotContain("hunter2", Details(line));
    }

    [Fact]
    public void Health_check_watch_and_unknown_service()
    {
        var check = run.Case("health");
        AssertCode(StatusCode.OK, check);
        Assert.Equal(1, check.GetProperty("status").GetInt32());
        AssertCode(StatusCode.NotFound, run.Case("health_unknown"));
        var watch = run.Case("health_watch");
        AssertCode(StatusCode.OK, watch);
        Assert.Equal(1, watch.GetProperty("status").GetInt32());
    }
}

/// <summary>Python grpcio → our server.</summary>
public sealed class PythonClientPeerTests(PythonClientRun run) : ClientPeerTests<PythonClientRun>(run), IClassFixture<PythonClientRun>;

/// <summary>Node grpc-js → our server.</summary>
public sealed class NodeClientPeerTests(NodeClientRun run) : ClientPeerTests<NodeClientRun>(run), IClassFixture<NodeClientRun>;
