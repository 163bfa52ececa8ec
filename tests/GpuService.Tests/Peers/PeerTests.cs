using System.Text.Json;
using Grpc.Core;
using TLoRA.Contracts.V1;

namespace TLoRA.GpuService.Tests.Peers;

/// <summary>
/// Real gRPC clients in other languages against the real GPU service: every case a user's client meets. The same
/// assertions for each peer.
/// </summary>
public abstract class PeerTests<TRun>(TRun run) where TRun : PeerRun
{
    private const string NonAscii = "größe ✓ 日本 «ok»";

    private static int Code(JsonElement line) => line.GetProperty("code").GetInt32();

    private static void AssertCode(StatusCode expected, JsonElement line) =>
        Assert.True(Code(line) == (int)expected, $"expected {expected} ({(int)expected}), got: {line}");

    private static List<string> Strings(JsonElement line, string name) =>
        line.GetProperty(name).EnumerateArray().Select(e => e.ToString()).ToList();

    [Fact]
    public void Unary_calls_list_models_and_submit_a_job_that_returns_at_once()
    {
        var models = run.Case("models");
        AssertCode(StatusCode.OK, models);
        Assert.Equal(Directory.GetDirectories(Engine.Tests.FixturePaths.Root).Where(d => File.Exists(Path.Combine(d, "model_index.json")))
            .Select(Path.GetFileName).Order(StringComparer.Ordinal), Strings(models, "ids"));
        var submit = run.Case("submit");
        AssertCode(StatusCode.OK, submit);
        Assert.StartsWith(submit.GetProperty("service_id").GetString() + ".train-", submit.GetProperty("job_id").GetString());
        Assert.Contains(submit.GetProperty("state").ToString(), new[] { "JOB_STATE_QUEUED", "JOB_STATE_RUNNING", "1", "2" });
    }

    [Fact]
    public void A_training_stream_arrives_whole_and_in_order()
    {
        var line = run.Case("train_stream");
        AssertCode(StatusCode.OK, line);
        var kinds = Strings(line, "kinds");
        Assert.Equal("queued", kinds[0]);
        Assert.Contains("preparing", kinds); // T-LoRA's initialisation at least: the peer's stubs know the event
        Assert.Equal("train_started", kinds.Skip(1).SkipWhile(k => k == "preparing").First());
        Assert.Equal("train_completed", kinds[^1]);
        Assert.Equal(2, kinds.Count(k => k == "train_step"));
        Assert.Equal(Enumerable.Range(1, kinds.Count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), Strings(line, "sequences"));
        Assert.Equal(1, line.GetProperty("jobs").GetInt32());
    }

    [Fact]
    public void A_long_download_stream_arrives_in_order_and_hashes_right()
    {
        var line = run.Case("download");
        AssertCode(StatusCode.OK, line);
        Assert.True(line.GetProperty("chunks").GetInt32() > 100, line.ToString());
        Assert.True(line.GetProperty("in_order").GetBoolean());
        Assert.True(line.GetProperty("sha_ok").GetBoolean());
    }

    [Fact]
    public void A_deadline_ends_the_call_and_the_services_handler()
    {
        AssertCode(StatusCode.DeadlineExceeded, run.Case("deadline"));
        Assert.Equal(0, run.WatchersAt("deadline"));
    }

    [Fact]
    public void Cancelling_reaches_the_services_handler()
    {
        Assert.Equal(1, run.WatchersAt("watching"));
        AssertCode(StatusCode.Cancelled, run.Case("cancel"));
        Assert.Equal(0, run.WatchersAt("cancel"));
    }

    [Fact]
    public void A_message_over_the_limit_is_RESOURCE_EXHAUSTED() => AssertCode(StatusCode.ResourceExhausted, run.Case("too_large"));

    [Fact]
    public void An_unknown_method_is_UNIMPLEMENTED() => AssertCode(StatusCode.Unimplemented, run.Case("unknown_method"));

    [Fact]
    public void A_non_ASCII_status_message_arrives_exactly()
    {
        var line = run.Case("non_ascii");
        AssertCode(StatusCode.InvalidArgument, line);
        Assert.Contains($"unknown model '{NonAscii}'", line.GetProperty("details").GetString());
    }

    [Fact]
    public void Rich_error_details_name_every_bad_field()
    {
        var line = run.Case("rich_error");
        AssertCode(StatusCode.InvalidArgument, line);
        Assert.Equal((int)StatusCode.InvalidArgument, line.GetProperty("status_code").GetInt32());
        Assert.Equal(["image", "rank", "steps"], Strings(line, "fields"));
    }

    [Fact]
    public void Health_check_watch_and_an_unknown_service()
    {
        var serving = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving;
        var check = run.Case("health");
        AssertCode(StatusCode.OK, check);
        Assert.All(Strings(check, "statuses"), s => Assert.Contains(s, new[] { ((int)serving).ToString(System.Globalization.CultureInfo.InvariantCulture), "SERVING" }));
        Assert.Equal(2, Strings(check, "statuses").Count);
        AssertCode(StatusCode.NotFound, run.Case("health_unknown"));
        var watch = run.Case("health_watch");
        AssertCode(StatusCode.OK, watch);
        Assert.Contains(watch.GetProperty("status").ToString(), new[] { ((int)serving).ToString(System.Globalization.CultureInfo.InvariantCulture), "SERVING" });
    }

    [Fact]
    public void Reflection_lists_describes_and_calls_the_api_without_proto_files()
    {
        var line = run.Case("reflection");
        AssertCode(StatusCode.OK, line);
        var services = Strings(line, "services");
        Assert.Contains("tlora.v1.TLoRAService", services);
        Assert.Contains("grpc.health.v1.Health", services);
        Assert.Equal(TLoRAService.Descriptor.Methods.Select(m => m.Name), Strings(line, "methods"));
        Assert.Equal(Strings(run.Case("models"), "ids"), Strings(line, "models"));
    }
}

public sealed class PythonPeerTests(PythonPeerRun run) : PeerTests<PythonPeerRun>(run), IClassFixture<PythonPeerRun>;

public sealed class NodePeerTests(NodePeerRun run) : PeerTests<NodePeerRun>(run), IClassFixture<NodePeerRun>;
