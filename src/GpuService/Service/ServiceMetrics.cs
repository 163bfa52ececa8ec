using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using TLoRA.Contracts.V1;
using TLoRA.GpuService.Jobs;

namespace TLoRA.GpuService.Service;

/// <summary>
/// The service's metrics (meter <see cref="MeterName"/>, scraped at /metrics), read from the job events as the bus
/// publishes them (<see cref="JobEventBus.Published"/>: every event passes there once, so nothing is counted twice or missed): jobs queued, started and finished by kind and
/// state; training steps, the time between consecutive steps and the steps/s the engine reports; how long a
/// checkpoint's previews take; how long jobs took to get ready (their preparing events: model load, T-LoRA
/// initialisation); sampling steps. Gauges: the queue length, whether a job runs, and the GPU's memory in
/// use on CUDA (<see cref="GpuMemory"/>). Step and preview times come from the events' own timestamps, so they measure
/// the engine, not how late this observer saw the event.
/// </summary>
public sealed class ServiceMetrics : IHostedService
{
    public const string MeterName = "TLoRA.GpuService";

    private readonly JobEventBus bus;
    private readonly Counter<long> queued, started, finished, trainSteps, sampleSteps;
    private readonly Histogram<double> stepTime, previewTime, preparationTime;
    private readonly ConcurrentDictionary<string, JobTiming> timings = new();
    private double stepsPerSecond;

    public ServiceMetrics(IMeterFactory meters, JobEventBus bus, JobManager jobs, ServiceIdentity identity, GpuServiceOptions options)
    {
        this.bus = bus;
        var meter = meters.Create(MeterName);
        var service = new KeyValuePair<string, object?>("service.id", identity.Id);
        queued = meter.CreateCounter<long>("tlora.jobs.queued", "{job}", "Jobs that entered the queue (submissions and resumes)");
        started = meter.CreateCounter<long>("tlora.jobs.started", "{job}", "Jobs the engine started");
        finished = meter.CreateCounter<long>("tlora.jobs.finished", "{job}", "Jobs that ended, by state: completed, failed, cancelled");
        trainSteps = meter.CreateCounter<long>("tlora.train.steps", "{step}", "Training steps done");
        sampleSteps = meter.CreateCounter<long>("tlora.sample.steps", "{step}", "Denoising steps of sampling jobs done");
        stepTime = meter.CreateHistogram<double>("tlora.train.step.duration", "s",
            "Time between consecutive training steps (intervals with checkpoint previews left out)");
        previewTime = meter.CreateHistogram<double>("tlora.train.preview.duration", "s", "Time to render one checkpoint's previews");
        preparationTime = meter.CreateHistogram<double>("tlora.jobs.preparation.duration", "s",
            "Time from a job's first preparing event (loading its model, initialising a T-LoRA adapter) to its start; jobs with none are left out");
        meter.CreateObservableGauge("tlora.train.steps_per_second", () => Volatile.Read(ref stepsPerSecond), "{step}/s",
            "Training speed the engine reported with its last step");
        meter.CreateObservableGauge("tlora.queue.length", () => new Measurement<int>(jobs.Queue.Count, service), "{job}",
            "Jobs waiting for the engine");
        meter.CreateObservableGauge("tlora.jobs.running", () => new Measurement<int>(jobs.IsRunning ? 1 : 0, service), "{job}",
            "Jobs running on the engine (0 or 1)");
        if (options.Device.StartsWith("cuda", StringComparison.Ordinal))
        {
            var gpu = new GpuMemory(options.TorchDevice.index < 0 ? 0 : options.TorchDevice.index);
            meter.CreateObservableGauge<long>("tlora.gpu.memory.used", () => gpu.Read() is { } m ? [new Measurement<long>(m.Used, service)] : [],
                "By", "GPU memory in use (NVML), while the NVIDIA driver answers");
            meter.CreateObservableGauge<long>("tlora.gpu.memory.total", () => gpu.Read() is { } m ? [new Measurement<long>(m.Total, service)] : [],
                "By", "GPU memory (NVML)");
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        bus.Published += Record;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        bus.Published -= Record;
        return Task.CompletedTask;
    }

    /// <summary>Counts one published event.</summary>
    internal void Record(JobEvent e)
    {
        var kind = new KeyValuePair<string, object?>("kind", KindOf(e.JobId));
        var time = e.Time?.ToDateTimeOffset() ?? DateTimeOffset.UtcNow;
        switch (e.EventCase)
        {
            case JobEvent.EventOneofCase.Queued:
                queued.Add(1, kind);
                break;
            case JobEvent.EventOneofCase.Preparing:
                timings.GetOrAdd(e.JobId, _ => new JobTiming()).PreparingFrom ??= time;
                break;
            case JobEvent.EventOneofCase.TrainStarted or JobEvent.EventOneofCase.SampleStarted:
                started.Add(1, kind);
                if (timings.TryGetValue(e.JobId, out var prepared) && prepared.PreparingFrom is { } preparingFrom)
                    preparationTime.Record(Math.Max(0, (time - preparingFrom).TotalSeconds), kind);
                timings[e.JobId] = new JobTiming();
                break;
            case JobEvent.EventOneofCase.TrainStep:
                trainSteps.Add(1);
                Volatile.Write(ref stepsPerSecond, e.TrainStep.StepsPerSecond);
                var t = timings.GetOrAdd(e.JobId, _ => new JobTiming());
                if (t.LastStep is { } last && t.PreviewsFrom is null) stepTime.Record((time - last).TotalSeconds);
                t.LastStep = time;
                t.PreviewsFrom = null;
                break;
            case JobEvent.EventOneofCase.TrainPreviews:
                var p = timings.GetOrAdd(e.JobId, _ => new JobTiming());
                p.PreviewsFrom ??= time;
                break;
            case JobEvent.EventOneofCase.TrainCheckpoint:
                if (timings.TryGetValue(e.JobId, out var c) && c.PreviewsFrom is { } from)
                    previewTime.Record((time - from).TotalSeconds);
                if (c is not null)
                {
                    // the next step's interval would include saving the checkpoint: start afresh
                    c.LastStep = null;
                    c.PreviewsFrom = null;
                }
                break;
            case JobEvent.EventOneofCase.SampleStep:
                sampleSteps.Add(1);
                break;
        }
        if (JobEventBus.IsTerminal(e))
        {
            var state = e.EventCase switch
            {
                JobEvent.EventOneofCase.Failed => "failed",
                JobEvent.EventOneofCase.Cancelled => "cancelled",
                _ => "completed",
            };
            finished.Add(1, kind, new KeyValuePair<string, object?>("state", state));
            timings.TryRemove(e.JobId, out _);
        }
    }

    /// <summary>"train" or "sample", from a job id "&lt;service&gt;.train-…".</summary>
    internal static string KindOf(string jobId)
    {
        var dot = jobId.IndexOf('.', StringComparison.Ordinal);
        var rest = dot >= 0 ? jobId[(dot + 1)..] : jobId;
        return rest.StartsWith("sample-", StringComparison.Ordinal) ? "sample" : "train";
    }

    private sealed class JobTiming
    {
        public DateTimeOffset? LastStep { get; set; }
        public DateTimeOffset? PreviewsFrom { get; set; }
        public DateTimeOffset? PreparingFrom { get; set; }
    }
}
