using System.Diagnostics;
using System.Text.Json;
using TLoRA.GpuService.Tests;

namespace TLoRA.Gateway.Tests;

/// <summary>The gateway's /metrics after a real job, and one trace from the REST request through the gRPC call into
/// the GPU service (both hosts run in this process, so one listener sees both servers' spans). Alone: a meter is found
/// by its name in the whole process, so gateways of tests running alongside would add to these counts.</summary>
[Collection(Name)]
public sealed class TelemetryTests
{
    public const string Name = "telemetry, alone";

    [Fact]
    public async Task Metrics_count_the_submission_and_the_relayed_events_with_their_lag()
    {
        var fx = new GatewayFixture();
        await fx.InitializeAsync();
        try
        {
            var job = await fx.SubmitTinyJobAsync(steps: 3);
            var jobId = job.GetProperty("jobId").GetString()!;
            var events = await fx.EventsUntilEndAsync(jobId, TimeSpan.FromMinutes(2));
            // every event of the job went to the all-jobs group through the relay, each with its lag recorded
            var text = await PrometheusText.ScrapeUntilAsync(fx.Http,
                m => m.Value("tlora_gateway_event_lag_seconds_count", ("path", "all")) >= events.Count
                    && m.Value("tlora_gateway_service_queue") == 0);
            Assert.Equal(events.Count, text.Value("tlora_gateway_event_lag_seconds_count", ("path", "all")));
            Assert.True(text.Value("tlora_gateway_event_lag_seconds_sum", ("path", "all")) >= 0);
            var serviceId = jobId[..jobId.IndexOf('.', StringComparison.Ordinal)];
            Assert.Equal(1, text.Value("tlora_gateway_jobs_submitted_total", ("kind", "training"), ("service_id", serviceId)));
            Assert.Equal(1, text.Value("tlora_gateway_service_healthy", ("service_id", serviceId)));
            Assert.Equal(0, text.Value("tlora_gateway_service_queue", ("service_id", serviceId)));
        }
        finally
        {
            await fx.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_submission_is_one_trace_from_the_gateway_into_the_gpu_service()
    {
        var fx = new GatewayFixture();
        await fx.InitializeAsync();
        using var source = new ActivitySource("TLoRA.Gateway.Tests");
        var seen = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { lock (seen) seen.Add(a); },
        };
        ActivitySource.AddActivityListener(listener);
        try
        {
            ActivityTraceId trace;
            JsonElement job;
            using (var root = source.StartActivity("submit")!)
            {
                trace = root.TraceId;
                job = await fx.SubmitTinyJobAsync(steps: 1);
            }
            await fx.EventsUntilEndAsync(job.GetProperty("jobId").GetString()!, TimeSpan.FromMinutes(2));
            Activity[] inTrace;
            lock (seen) inTrace = seen.Where(a => a.TraceId == trace).ToArray();
            var gatewayServer = Assert.Single(inTrace, a => a.Source.Name == "Microsoft.AspNetCore" && (string?)a.GetTagItem("http.route") == "/api/jobs");
            Assert.Equal(job.GetProperty("jobId").GetString(), (string?)gatewayServer.GetTagItem("tlora.job_id"));
            var grpcServer = Assert.Single(inTrace, a => a.Source.Name == "Microsoft.AspNetCore"
                && (string?)a.GetTagItem("grpc.method") == "/tlora.v1.TLoRAService/SubmitTrain");
            // (Grpc.Net.Client's activity comes from its DiagnosticListener; the instrumentation names its source)
            // the GPU service's span hangs under the gateway's outgoing call (gRPC client, HTTP/2 request), which hangs
            // under the gateway's REST request
            var chain = new List<Activity>();
            for (var a = grpcServer; a != gatewayServer; a = Assert.Single(inTrace, p => p.SpanId == a.ParentSpanId)) chain.Add(a);
            Assert.Contains(chain, a => a.OperationName == "Grpc.Net.Client.GrpcOut");
            Assert.Contains(chain, a => a.Source.Name == "System.Net.Http" && a.Kind == ActivityKind.Client);
        }
        finally
        {
            await fx.DisposeAsync();
        }
    }
}

[CollectionDefinition(TelemetryTests.Name, DisableParallelization = true)]
public sealed class TelemetryCollection;
