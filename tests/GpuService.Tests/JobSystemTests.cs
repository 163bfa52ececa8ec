using Google.Protobuf;
using TLoRA.Engine.IO;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Jobs;
using TLoRA.Contracts.V1;
using JobState = TLoRA.GpuService.Jobs.JobState;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.GpuService.Tests;

public class JobSystemTests
{
    [Fact]
    public async Task A_training_job_streams_every_event_in_order_and_its_artifacts_are_registered()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path);
        var job = sys.Manager.SubmitTrain(JobSystem.TinyTrain());
        var events = await sys.WaitForEndAsync(job.JobId);
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        // leaving the queue: the model loads (this system's first job: bytes of its weights read), then T-LoRA's
        // initialisation counts up to every projection it adapts (each thinned: its first and last report, and more
        // only when it takes long)
        var preparing = events.Skip(1).TakeWhile(e => e.EventCase == JobEvent.EventOneofCase.Preparing).Select(e => e.Preparing).ToList();
        var loading = preparing.TakeWhile(p => p.Stage == PreparingStage.LoadingModel).ToList();
        var weights = Engine.Pipelines.PipelineLoader.WeightBytes(Path.Combine(Engine.Tests.FixturePaths.Root, "sdxl-tiny"));
        Assert.All(loading, p => Assert.Equal(weights, p.Total));
        Assert.Equal((0L, weights), (loading[0].Done, loading[^1].Done));
        var initialising = preparing.Skip(loading.Count).ToList();
        Assert.All(initialising, p => Assert.Equal(PreparingStage.InitialisingAdapter, p.Stage));
        var adapted = events.First(e => e.EventCase == JobEvent.EventOneofCase.TrainStarted).TrainStarted.AdaptedLayers;
        var projections = adapted * Engine.Adapters.AdapterSpec.AttentionProjections.Count; // SD-XL adapts all four of every attention
        Assert.All(initialising, p => Assert.Equal(projections, p.Total));
        Assert.Equal(0, initialising[0].Done);
        Assert.Equal(projections, initialising[^1].Done);
        Assert.True(initialising.Zip(initialising.Skip(1)).All(x => x.First.Done < x.Second.Done));
        List<JobEvent> withoutPreparing = [events[0], .. events.Skip(1 + preparing.Count)];
        Assert.Equal([JobEvent.EventOneofCase.Queued, JobEvent.EventOneofCase.TrainStarted, JobEvent.EventOneofCase.TrainStep,
                JobEvent.EventOneofCase.TrainStep, JobEvent.EventOneofCase.TrainPreviews, JobEvent.EventOneofCase.TrainPreviews,
                JobEvent.EventOneofCase.TrainCheckpoint, JobEvent.EventOneofCase.TrainStep, JobEvent.EventOneofCase.TrainPreviews,
                JobEvent.EventOneofCase.TrainPreviews, JobEvent.EventOneofCase.TrainCheckpoint, JobEvent.EventOneofCase.TrainCompleted],
            withoutPreparing.Select(e => e.EventCase));
        Assert.All(events, e => Assert.Equal(job.JobId, e.JobId));
        var checkpoint = events.First(e => e.EventCase == JobEvent.EventOneofCase.TrainCheckpoint).TrainCheckpoint;
        Assert.NotNull(sys.Store.ArtifactPath(checkpoint.AdapterId, "adapter"));
        var preview = Assert.Single(checkpoint.Previews);
        Assert.True(File.Exists(sys.Store.ArtifactPath(preview.ImageId, "image")));
        Assert.False(preview.ThumbnailPng.IsEmpty);
        var done = sys.Manager.Get(job.JobId);
        Assert.Equal(JobState.Completed, done.State);
        Assert.Equal(3, done.Step);
        Assert.Equal($"{job.JobId}-final", done.AdapterId);
        // a late watcher replays the same history
        Assert.Equal(events, await sys.WaitForEndAsync(job.JobId));
    }

    [Fact]
    public async Task Jobs_run_one_at_a_time_in_fifo_order_and_queued_or_running_jobs_cancel()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, capacity: 3);
        var first = sys.Manager.SubmitTrain(JobSystem.TinyTrain(steps: 40, interval: 1));
        var second = sys.Manager.SubmitTrain(JobSystem.TinyTrain(steps: 2, interval: 0));
        var third = sys.Manager.SubmitSample(new SampleRequest { ModelId = "sdxl-tiny", Prompts = { "a robot" }, Steps = 2 });
        Assert.Throws<JobRequestException>(() =>
        {
            sys.Manager.SubmitTrain(JobSystem.TinyTrain());
            sys.Manager.SubmitTrain(JobSystem.TinyTrain());
        });
        Assert.Equal(JobState.Queued, sys.Manager.Get(third.JobId).State);
        // cancel a queued job at once
        Assert.Equal(JobState.Cancelled, sys.Manager.Cancel(second.JobId).State);
        // cancel the running one after its second checkpoint: it stops, keeping what it saved
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var seen = new List<JobEvent>();
        await foreach (var e in sys.Manager.Bus.Watch(first.JobId, 1, cts.Token))
        {
            seen.Add(e);
            if (e.TrainCheckpoint?.Step == 2) sys.Manager.Cancel(first.JobId);
        }
        Assert.Equal(JobEvent.EventOneofCase.Cancelled, seen[^1].EventCase);
        Assert.Equal(JobState.Cancelled, sys.Manager.Get(first.JobId).State);
        Assert.True(File.Exists(sys.Store.ArtifactPath($"{first.JobId}-s000002", "adapter")));
        // the sampling job then runs
        var sample = await sys.WaitForEndAsync(third.JobId);
        Assert.Equal(JobEvent.EventOneofCase.SampleCompleted, sample[^1].EventCase);
        Assert.Single(sample, e => e.EventCase == JobEvent.EventOneofCase.SampleImage);
        Assert.Throws<JobRequestException>(() => sys.Manager.Cancel(third.JobId));
    }

    [Fact]
    public async Task After_a_restart_an_interrupted_job_resumes_and_ends_where_an_uninterrupted_run_does()
    {
        using var dir = new TempDir();
        string jobId;
        using (var sys = new JobSystem(dir.Path))
        {
            jobId = sys.Manager.SubmitTrain(JobSystem.TinyTrain(steps: 30, interval: 2)).JobId;
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await foreach (var e in sys.Manager.Bus.Watch(jobId, 1, cts.Token))
                if (e.TrainCheckpoint?.Step == 2) break;
            Assert.True(sys.Worker.Stop(TimeSpan.FromMinutes(2))); // the service goes down mid-run
        }
        using var restarted = new JobSystem(dir.Path);
        Assert.Equal(JobState.Interrupted, restarted.Manager.Get(jobId).State);
        var before = restarted.Store.Events(jobId).Count;
        restarted.Manager.Resume(jobId);
        var events = await restarted.WaitForEndAsync(jobId);
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence)); // one sequence, no gap
        var started = events.Skip(before).First(e => e.EventCase == JobEvent.EventOneofCase.TrainStarted).TrainStarted;
        Assert.True(started.StartStep >= 2);
        Assert.Equal(JobEvent.EventOneofCase.TrainCompleted, events[^1].EventCase);

        using var reference = new TempDir();
        using var straight = new JobSystem(reference.Path);
        var other = straight.Manager.SubmitTrain(JobSystem.TinyTrain(steps: 30, interval: 2));
        await straight.WaitForEndAsync(other.JobId);
        using var scope = torch.NewDisposeScope();
        using var a = ShardedCheckpoint.Open(restarted.Store.ArtifactPath($"{jobId}-final", "adapter")!);
        using var b = ShardedCheckpoint.Open(straight.Store.ArtifactPath($"{other.JobId}-final", "adapter")!);
        foreach (var name in a.Names) Parity.AssertClose(b.Read(name), a.Read(name), name, rel: 1e-6, abs: 1e-9);
    }

    [Fact]
    public async Task Every_job_leaves_the_engine_threads_live_tensors_where_it_found_them()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path);
        async Task<(long Before, long After)> Run(string jobId, JobEvent.EventOneofCase expectedEnd)
        {
            var events = await sys.WaitForEndAsync(jobId);
            Assert.Equal(expectedEnd, events[^1].EventCase);
            (long, long) counts = default;
            for (var i = 0; i < 500 && !sys.Worker.LiveTensorsByJob.TryGetValue(jobId, out counts); i++) await Task.Delay(10);
            Assert.True(sys.Worker.LiveTensorsByJob.ContainsKey(jobId));
            return counts;
        }
        // the first job loads the model (it stays in the catalog); every later one must give back all it made
        var first = sys.Manager.SubmitTrain(JobSystem.TinyTrain(steps: 2, interval: 1));
        var loaded = await Run(first.JobId, JobEvent.EventOneofCase.TrainCompleted);
        Assert.True(loaded.After > loaded.Before);
        var trained = sys.Manager.SubmitTrain(JobSystem.TinyTrain(steps: 2, interval: 1));
        var train = await Run(trained.JobId, JobEvent.EventOneofCase.TrainCompleted);
        var sample = await Run(sys.Manager.SubmitSample(new SampleRequest
            { ModelId = "sdxl-tiny", AdapterId = $"{trained.JobId}-final", Prompts = { "a robot" }, Steps = 2 }).JobId,
            JobEvent.EventOneofCase.SampleCompleted);
        // a job that fails after the adapters are attached: the adapter file is swapped for another model's
        var path = sys.Store.ArtifactPath($"{trained.JobId}-final", "adapter")!;
        File.Copy(Path.Combine(FixturePaths.FluxTiny, "reference_vanilla_tlora_adapter.safetensors"), path, overwrite: true);
        var failed = await Run(sys.Manager.SubmitSample(new SampleRequest
            { ModelId = "sdxl-tiny", AdapterId = $"{trained.JobId}-final", Prompts = { "a robot" }, Steps = 2 }).JobId,
            JobEvent.EventOneofCase.Failed);
        var cancelledJob = sys.Manager.SubmitTrain(JobSystem.TinyTrain(steps: 40, interval: 0));
        using (var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
            await foreach (var e in sys.Manager.Bus.Watch(cancelledJob.JobId, 1, cts.Token))
                if (e.TrainStep?.Step == 2) sys.Manager.Cancel(cancelledJob.JobId);
        var cancelled = await Run(cancelledJob.JobId, JobEvent.EventOneofCase.Cancelled);
        Assert.Equal(train.Before, train.After);
        Assert.Equal(sample.Before, sample.After);
        Assert.Equal(failed.Before, failed.After);
        Assert.Equal(cancelled.Before, cancelled.After);
        Assert.Equal(loaded.After, cancelled.After);
    }

    [Theory]
    [InlineData("image", "")]
    [InlineData("image", "garbage")]
    [InlineData("rank", "5000")]
    [InlineData("min_rank", "9")]
    [InlineData("steps", "-1")]
    [InlineData("resolution", "60")]
    [InlineData("model_id", "no-such-model")]
    public void Invalid_requests_are_refused_naming_the_field(string field, string value)
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, start: false);
        var r = JobSystem.TinyTrain();
        switch (field)
        {
            case "image": r.Image = ByteString.CopyFromUtf8(value); break;
            case "rank": r.Rank = int.Parse(value); break;
            case "min_rank": r.MinRank = int.Parse(value); break;
            case "steps": r.Steps = int.Parse(value); break;
            case "resolution": r.Resolution = int.Parse(value); break;
            case "model_id": r.ModelId = value; break;
        }
        var ex = Assert.Throws<JobRequestException>(() => sys.Manager.SubmitTrain(r));
        Assert.Equal(JobError.InvalidArgument, ex.Error);
        Assert.Equal(field, Assert.Single(ex.Fields).Field);
        Assert.StartsWith(field + ":", ex.Message);
        Assert.Empty(sys.Store.List(10));
    }

    [Fact]
    public void A_tiny_image_is_refused_with_the_minimum()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, start: false);
        var r = JobSystem.TinyTrain();
        r.Image = ByteString.CopyFrom(File.ReadAllBytes(Path.Combine(FixturePaths.Root, "images", "quadrants.png")));
        var ex = Assert.Throws<JobRequestException>(() => sys.Manager.SubmitTrain(r));
        Assert.Contains("too small", ex.Message);
        Assert.Contains("64 px", ex.Message);
    }

    [Fact]
    public async Task A_sampling_jobs_steps_run_over_all_its_prompts_so_its_total_is_known_when_queued()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path);
        string[] prompts = ["a robot", "a robot on the beach"];
        const int steps = 2;
        var job = sys.Manager.SubmitSample(new SampleRequest { ModelId = "sdxl-tiny", Prompts = { prompts }, Steps = steps });
        Assert.Equal(prompts.Length * steps, sys.Manager.Get(job.JobId).TotalSteps);
        var events = await sys.WaitForEndAsync(job.JobId);
        Assert.Equal(JobEvent.EventOneofCase.SampleCompleted, events[^1].EventCase);
        var done = sys.Manager.Get(job.JobId);
        Assert.Equal(prompts.Length * steps, done.TotalSteps);
        Assert.Equal(done.TotalSteps, done.Step);
    }
}
