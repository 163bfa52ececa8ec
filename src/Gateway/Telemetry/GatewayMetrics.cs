using System.Diagnostics.Metrics;
using TLoRA.Gateway.Services;

namespace TLoRA.Gateway.Telemetry;

/// <summary>
/// The gateway's metrics (meter <see cref="MeterName"/>, scraped at /metrics): jobs submitted per GPU service, the
/// event lag from the engine (the event's timestamp, set when the GPU service published it) to the hub's send, and
/// per GPU service its queue (queued plus running jobs, as last read by the health monitor) and health.
/// </summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "TLoRA.Gateway";
    /// <summary>Lag of events sent to a job's followers (hub method "event").</summary>
    public const string JobPath = "job";
    /// <summary>Lag of events sent to all-jobs followers (hub method "activity").</summary>
    public const string AllJobsPath = "all";

    private readonly Counter<long> submitted;
    private readonly Histogram<double> lag;
    private readonly TimeProvider time;

    public GatewayMetrics(IMeterFactory meters, GpuServicePool pool, TimeProvider? time = null)
    {
        this.time = time ?? TimeProvider.System;
        var meter = meters.Create(MeterName);
        submitted = meter.CreateCounter<long>("tlora.gateway.jobs.submitted", "{job}", "Jobs submitted, by kind and GPU service");
        lag = meter.CreateHistogram<double>("tlora.gateway.event.lag", "s",
            "From the engine publishing a job event to the hub sending it", advice: new InstrumentAdvice<double>
            {
                HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
            });
        meter.CreateObservableGauge("tlora.gateway.service.queue", () => pool.Endpoints
            .Where(e => e.Load is not null).Select(e => new Measurement<int>(e.Load!.Value, Tags(e))), "{job}",
            "Queued plus running jobs of each GPU service, as last read");
        meter.CreateObservableGauge("tlora.gateway.service.healthy", () => pool.Endpoints
            .Select(e => new Measurement<int>(e.Healthy == true ? 1 : 0, Tags(e))), "1",
            "Whether each GPU service answered SERVING at its last check");
    }

    private static KeyValuePair<string, object?>[] Tags(ServiceEndpoint e) =>
        [new("service.address", e.Address.ToString()), new("service.id", e.ServiceId ?? "")];

    public void Submitted(string kind, ServiceEndpoint endpoint) =>
        submitted.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("service.id", endpoint.ServiceId ?? ""));

    /// <summary>Records the lag of an event published at <paramref name="published"/> and sent now.</summary>
    public void Relayed(DateTimeOffset? published, string path)
    {
        if (published is { } t) lag.Record(Math.Max(0, (time.GetUtcNow() - t).TotalSeconds), new KeyValuePair<string, object?>("path", path));
    }
}
