using Grpc.Core;
using TLoRA.Contracts.V1;
using TLoRA.GpuService.Service;

namespace TLoRA.GpuService.Tests;

/// <summary>/metrics (Prometheus text on GpuService:MetricsPort) after real tiny jobs: the step and job counters equal
/// what the job's own events say happened.</summary>
public class MetricsTests
{
    [Fact]
    public async Task Metrics_count_the_steps_jobs_and_previews_of_real_jobs()
    {
        await using var host = await ServiceHost.StartAsync(configure: o => o.MetricsPort = 0);
        var metricsAddress = Assert.Single(GpuServiceHost.ClientAddresses(host.App.Services), a => a != host.Address);
        using var http = new HttpClient { BaseAddress = metricsAddress };

        var request = GrpcServiceTests.Tiny(steps: 3);
        request.CheckpointInterval = 2;
        var events = new List<JobEvent>();
        using (var call = host.Client.Train(request))
            await foreach (var e in call.ResponseStream.ReadAllAsync()) events.Add(e);
        Assert.Equal(JobEvent.EventOneofCase.TrainCompleted, events[^1].EventCase);
        // a second job that is cancelled while queued: counted as queued and cancelled, never started
        var blocker = await host.Client.SubmitTrainAsync(GrpcServiceTests.Tiny(steps: 50));
        using (var watch = host.Client.WatchJob(new WatchJobRequest { JobId = blocker.JobId }))
            await foreach (var e in watch.ResponseStream.ReadAllAsync())
                if (e.EventCase == JobEvent.EventOneofCase.TrainStarted) break;
        var cancelled = await host.Client.SubmitTrainAsync(GrpcServiceTests.Tiny());
        await host.Client.CancelJobAsync(new CancelJobRequest { JobId = cancelled.JobId });
        await host.Client.CancelJobAsync(new CancelJobRequest { JobId = blocker.JobId });
        await foreach (var _ in host.Client.WatchJob(new WatchJobRequest { JobId = blocker.JobId }).ResponseStream.ReadAllAsync()) { }

        var steps = events.Count(e => e.EventCase == JobEvent.EventOneofCase.TrainStep);
        Assert.Equal(request.Steps, steps);
        // intervals between consecutive steps with no checkpoint (previews, saving) in between
        var intervals = 0;
        var checkpointsWithPreviews = 0;
        JobEvent? previous = null;
        foreach (var e in events)
        {
            if (e.EventCase == JobEvent.EventOneofCase.TrainStep && previous?.EventCase == JobEvent.EventOneofCase.TrainStep) intervals++;
            if (e.EventCase == JobEvent.EventOneofCase.TrainCheckpoint && previous?.EventCase == JobEvent.EventOneofCase.TrainPreviews)
                checkpointsWithPreviews++;
            previous = e;
        }
        Assert.True(checkpointsWithPreviews > 0, "the job rendered previews at a checkpoint");

        var blockerSteps = await StepsOf(host, blocker.JobId);
        var text = await PrometheusText.ScrapeUntilAsync(http, m => m.Value("tlora_jobs_finished_total", ("state", "cancelled")) == 2);
        Assert.Equal(steps + blockerSteps, text.Value("tlora_train_steps_total"));
        Assert.Equal(3, text.Value("tlora_jobs_queued_total", ("kind", "train")));
        Assert.Equal(2, text.Value("tlora_jobs_started_total", ("kind", "train")));
        Assert.Equal(1, text.Value("tlora_jobs_finished_total", ("kind", "train"), ("state", "completed")));
        Assert.Equal(2, text.Value("tlora_jobs_finished_total", ("kind", "train"), ("state", "cancelled")));
        Assert.Null(text.Value("tlora_jobs_finished_total", ("state", "failed")));
        Assert.True(text.Value("tlora_train_step_duration_seconds_count") >= intervals, "step intervals of the first job");
        Assert.Equal(checkpointsWithPreviews, text.Value("tlora_train_preview_duration_seconds_count"));
        Assert.True(text.Value("tlora_train_preview_duration_seconds_sum") > 0);
        // both started jobs were T-LoRA: each initialised its adapter (the first loaded the model too) before it started
        Assert.Equal(2, text.Value("tlora_jobs_preparation_duration_seconds_count", ("kind", "train")));
        Assert.True(text.Value("tlora_jobs_preparation_duration_seconds_sum") > 0);
        Assert.Equal(0, text.Value("tlora_queue_length"));
        Assert.Equal(0, text.Value("tlora_jobs_running"));
        // the gauges name the service they describe
        var info = await host.Client.GetServiceInfoAsync(new GetServiceInfoRequest());
        Assert.Equal(0, text.Value("tlora_queue_length", ("service_id", info.ServiceId)));
    }

    private static async Task<int> StepsOf(ServiceHost host, string jobId)
    {
        var n = 0;
        await foreach (var e in host.Client.WatchJob(new WatchJobRequest { JobId = jobId, FromSequence = 1 }).ResponseStream.ReadAllAsync())
            if (e.EventCase == JobEvent.EventOneofCase.TrainStep) n++;
        return n;
    }
}
