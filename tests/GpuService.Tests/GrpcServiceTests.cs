using TLoRA.Engine.Tests;
using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using TLoRA.Contracts.V1;

namespace TLoRA.GpuService.Tests;

/// <summary>The GPU service on Grpc.AspNetCore, called by the generated client over Grpc.Net.Client.</summary>
public class GrpcServiceTests
{
    internal static TrainRequest Tiny(int steps = 2) => new()
    {
        ModelId = "sdxl-tiny", Image = ByteString.CopyFrom(JobSystem.ConceptBytes), Trigger = "sks", ClassWord = "robot", Rank = 4,
        Steps = steps, CheckpointInterval = 0, PreviewSteps = 1, ValidationPrompts = { "a {0}" }, Seed = 1,
    };

    [Fact]
    public async Task Train_streams_to_completion_then_inspect_download_and_sample_work()
    {
        await using var host = await ServiceHost.StartAsync();
        var client = host.Client;
        var models = await client.ListModelsAsync(new ListModelsRequest());
        Assert.Equal(["flux-tiny", "sdxl-tiny"], models.Models.Select(m => m.ModelId).Order());
        Assert.All(models.Models, m => Assert.True(m.Trainable));
        Assert.Equal(FixtureFacts.SdxlNativeResolution(FixturePaths.SdxlTiny), models.Models.Single(m => m.ModelId == "sdxl-tiny").NativeResolution);
        // the widest attention projection: the UNet's largest block width, FLUX's heads × head dim
        var unet = FixtureFacts.Json(FixturePaths.SdxlTiny, "unet", "config.json");
        var transformer = FixtureFacts.Json(FixturePaths.FluxTiny, "transformer", "config.json");
        Assert.Equal(unet.GetProperty("block_out_channels").EnumerateArray().Max(c => c.GetInt32()),
            models.Models.Single(m => m.ModelId == "sdxl-tiny").MaxRank);
        Assert.Equal(transformer.GetProperty("num_attention_heads").GetInt32() * transformer.GetProperty("attention_head_dim").GetInt32(),
            models.Models.Single(m => m.ModelId == "flux-tiny").MaxRank);
        Assert.All(models.Models, m =>
        {
            Assert.Equal(25, m.ValidationPrompts.Count);
            Assert.Equal("a {0} in the jungle", m.ValidationPrompts[0]);
        });

        var events = new List<JobEvent>();
        using (var call = client.Train(Tiny()))
            await foreach (var e in call.ResponseStream.ReadAllAsync()) events.Add(e);
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        Assert.Equal(JobEvent.EventOneofCase.Queued, events[0].EventCase);
        Assert.Equal(JobEvent.EventOneofCase.TrainCompleted, events[^1].EventCase);
        var jobId = events[0].JobId;
        Assert.All(events, e => Assert.Equal(jobId, e.JobId));
        var adapterId = events[^1].TrainCompleted.AdapterId;

        var job = await client.GetJobAsync(new GetJobRequest { JobId = jobId });
        Assert.Equal(JobState.Completed, job.State);
        var info = await client.GetServiceInfoAsync(new GetServiceInfoRequest());
        Assert.Equal(info.ServiceId, job.ServiceId);
        Assert.StartsWith(info.ServiceId + ".train-", jobId);
        var inspect = await client.InspectAdapterAsync(new InspectRequest { AdapterId = adapterId, IncludeLayers = true });
        Assert.Equal(AdapterMethod.Tlora, inspect.Adapter.Method);
        Assert.Equal(176, inspect.Layers.Count);

        var bytes = new List<byte>();
        string? sha = null;
        using (var dl = client.DownloadAdapter(new DownloadAdapterRequest { AdapterId = adapterId, ChunkSize = 4096 }))
            await foreach (var c in dl.ResponseStream.ReadAllAsync())
            {
                Assert.Equal(bytes.Count, c.Offset);
                bytes.AddRange(c.Data);
                if (c.Sha256.Length > 0) sha = c.Sha256;
            }
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes.ToArray())), sha);

        var images = new List<JobEvent>();
        using (var sample = client.Sample(new SampleRequest { ModelId = "sdxl-tiny", AdapterId = adapterId, Prompts = { "a sks robot" }, Steps = 2, ImagesPerPrompt = 2 }))
            await foreach (var e in sample.ResponseStream.ReadAllAsync()) images.Add(e);
        Assert.Equal(2, images.Count(e => e.EventCase == JobEvent.EventOneofCase.SampleImage));
        Assert.Equal(JobEvent.EventOneofCase.SampleCompleted, images[^1].EventCase);

        // a late watcher replays from any sequence number
        var replay = new List<JobEvent>();
        using (var watch = client.WatchJob(new WatchJobRequest { JobId = jobId, FromSequence = 3 }))
            await foreach (var e in watch.ResponseStream.ReadAllAsync()) replay.Add(e);
        Assert.Equal(events.Skip(2), replay);
    }

    [Fact]
    public async Task SubmitTrain_returns_the_queued_job_at_once_and_previews_report_their_progress()
    {
        await using var host = await ServiceHost.StartAsync();
        var request = Tiny(steps: 2);
        request.CheckpointInterval = 1;
        request.ValidationPrompts.Add("a {0} on the beach");
        var job = await host.Client.SubmitTrainAsync(request);
        Assert.Equal(JobKind.Train, job.Kind);
        Assert.True(job.State is JobState.Queued or JobState.Running, job.State.ToString());
        Assert.Equal(1, job.LastSequence);
        Assert.Equal(2, job.TotalSteps);

        var events = new List<JobEvent>();
        using (var watch = host.Client.WatchJob(new WatchJobRequest { JobId = job.JobId }))
            await foreach (var e in watch.ResponseStream.ReadAllAsync()) events.Add(e);
        Assert.Equal(JobEvent.EventOneofCase.TrainCompleted, events[^1].EventCase);
        // checkpoints at steps 1 and 2, each preceded by its previews' progress: preview i of n, denoising step k of m
        foreach (var checkpoint in events.Where(e => e.EventCase == JobEvent.EventOneofCase.TrainCheckpoint))
        {
            var at = events.IndexOf(checkpoint);
            var previews = events.Take(at).Reverse().TakeWhile(e => e.EventCase == JobEvent.EventOneofCase.TrainPreviews)
                .Reverse().Select(e => e.TrainPreviews).ToList();
            var prompts = request.ValidationPrompts.Count;
            Assert.Equal(prompts * request.PreviewSteps, previews.Count);
            Assert.All(previews, p =>
            {
                Assert.Equal(checkpoint.TrainCheckpoint.Step, p.Step);
                Assert.Equal(prompts, p.Count);
                Assert.Equal(request.PreviewSteps, p.DenoisingSteps);
            });
            Assert.Equal(Enumerable.Range(1, prompts), previews.Select(p => p.Index).Distinct());
            Assert.Equal(JobEvent.EventOneofCase.TrainStep, events[at - previews.Count - 1].EventCase);
        }
        Assert.Equal(2, events.Count(e => e.EventCase == JobEvent.EventOneofCase.TrainCheckpoint));
    }

    [Fact]
    public async Task Every_bad_field_is_named_in_the_bad_request_detail()
    {
        await using var host = await ServiceHost.StartAsync();
        var r = Tiny();
        r.Rank = 9999;
        r.Steps = -1;
        r.Image = ByteString.CopyFromUtf8("not an image");
        r.CheckpointInterval = -2;
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await host.Client.SubmitTrainAsync(r));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var status = ex.GetRpcStatus();
        Assert.NotNull(status);
        var bad = status.GetDetail<Google.Rpc.BadRequest>();
        Assert.NotNull(bad);
        Assert.Equal(["checkpoint_interval", "image", "rank", "steps"], bad.FieldViolations.Select(v => v.Field).Order());
        Assert.All(bad.FieldViolations, v => Assert.False(string.IsNullOrWhiteSpace(v.Description)));
        Assert.Empty((await host.Client.ListJobsAsync(new ListJobsRequest())).Jobs);

        // the streaming call refuses the same way, before any event
        using var call = host.Client.Train(r);
        ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        Assert.Equal(4, ex.GetRpcStatus()!.GetDetail<Google.Rpc.BadRequest>()!.FieldViolations.Count);
    }

    [Fact]
    public async Task Unknown_ids_are_not_found_and_a_full_queue_is_resource_exhausted()
    {
        await using var host = await ServiceHost.StartAsync(queueCapacity: 1);
        var client = host.Client;
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.GetJobAsync(new GetJobRequest { JobId = "train-nope" }));
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        ex = await Assert.ThrowsAsync<RpcException>(async () => await client.InspectAdapterAsync(new InspectRequest { AdapterId = "x" }));
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        ex = await Assert.ThrowsAsync<RpcException>(async () => await client.GetJobAsync(new GetJobRequest()));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("job_id", Assert.Single(ex.GetRpcStatus()!.GetDetail<Google.Rpc.BadRequest>()!.FieldViolations).Field);

        // one long job runs, one waits; the next is refused
        var running = await client.SubmitTrainAsync(Tiny(steps: 200));
        await WaitUntil(async () => (await client.GetJobAsync(new GetJobRequest { JobId = running.JobId })).State == JobState.Running);
        var waiting = await client.SubmitTrainAsync(Tiny());
        Assert.Equal(1, waiting.QueuePosition);
        var info = await client.GetServiceInfoAsync(new GetServiceInfoRequest());
        Assert.Equal((1, true, 1), (info.QueuedJobs, info.Running, info.QueueCapacity));
        ex = await Assert.ThrowsAsync<RpcException>(async () => await client.SubmitTrainAsync(Tiny()));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);

        // cancelling both: the queued one at once, the running one at its next step
        var cancelled = await client.CancelJobAsync(new CancelJobRequest { JobId = waiting.JobId });
        Assert.Equal(JobState.Cancelled, cancelled.State);
        using var watch = client.WatchJob(new WatchJobRequest { JobId = running.JobId });
        await client.CancelJobAsync(new CancelJobRequest { JobId = running.JobId });
        JobEvent? last = null;
        await foreach (var e in watch.ResponseStream.ReadAllAsync()) last = e;
        Assert.Equal(JobEvent.EventOneofCase.Cancelled, last?.EventCase);
        ex = await Assert.ThrowsAsync<RpcException>(async () => await client.CancelJobAsync(new CancelJobRequest { JobId = running.JobId }));
        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
    }

    [Fact]
    public async Task A_failed_sample_job_says_why_without_naming_the_servers_folders()
    {
        await using var host = await ServiceHost.StartAsync();
        var trained = new List<JobEvent>();
        using (var call = host.Client.Train(Tiny()))
            await foreach (var e in call.ResponseStream.ReadAllAsync()) trained.Add(e);
        var adapterId = trained[^1].TrainCompleted.AdapterId;
        // the adapter's file is damaged after it was recorded: the job fails when it loads it
        var store = (Jobs.JobStore)host.App.Services.GetService(typeof(Jobs.JobStore))!;
        var path = store.ArtifactPath(adapterId, "adapter")!;
        File.WriteAllBytes(path, [1, 2, 3]);

        var events = new List<JobEvent>();
        using (var call = host.Client.Sample(new SampleRequest { ModelId = "sdxl-tiny", AdapterId = adapterId, Prompts = { "a robot" }, Steps = 1 }))
            await foreach (var e in call.ResponseStream.ReadAllAsync()) events.Add(e);
        var failed = events[^1].Failed;
        Assert.NotNull(failed);
        Assert.NotEqual((int)StatusCode.Internal, failed.Code);
        Assert.Contains(Path.GetFileName(path), failed.Message);
        Assert.DoesNotContain(host.DataDirectory, failed.Message);
        Assert.DoesNotContain(Path.GetDirectoryName(path)!, failed.Message);
        Assert.DoesNotContain("/", failed.Message);
        Assert.DoesNotContain("   at ", failed.Message);
        var job = await host.Client.GetJobAsync(new GetJobRequest { JobId = events[0].JobId });
        Assert.Equal((JobState.Failed, failed.Message), (job.State, job.Error));

        // once the file is gone, a request for it is refused up front, naming the field and not the file's place
        File.Delete(path);
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await host.Client.SubmitSampleAsync(new SampleRequest { ModelId = "sdxl-tiny", AdapterId = adapterId, Prompts = { "a robot" } }));
        var violation = Assert.Single(ex.GetRpcStatus()!.GetDetail<Google.Rpc.BadRequest>()!.FieldViolations);
        Assert.Equal("adapter_id", violation.Field);
        Assert.DoesNotContain("/", violation.Description);
    }

    [Theory]
    [InlineData("Could not find file '{0}/jobs/j/run/adapter.safetensors'.", 5, "Could not find file 'adapter.safetensors'.")]
    [InlineData("{0}/models/m/unet: missing 'x.weight'", 5, "unet: missing 'x.weight'")]
    [InlineData("/somewhere/else/model.safetensors: truncated", 5, "model.safetensors: truncated")]
    public void Failure_messages_keep_only_the_last_part_of_a_path(string message, int code, string expected)
    {
        using var data = new Engine.Tests.TempDir();
        var e = new KeyNotFoundException(string.Format(System.Globalization.CultureInfo.InvariantCulture, message, data.Path));
        Assert.Equal((code, expected), Jobs.EngineWorker.Classify(e, data.Path));
        Assert.Equal((13, "the job failed with an internal error; see the service log"), Jobs.EngineWorker.Classify(new InvalidOperationException(data.Path)));
    }

    internal static async Task WaitUntil(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 600 && !await condition(); i++) await Task.Delay(100);
    }
}
