using System.Security.Cryptography;
using Google.Protobuf;
using TLoRA.Rpc;
using TLoRA.Rpc.Client;
using TLoRA.Rpc.V1;

namespace TLoRA.GpuService.Tests;

/// <summary>The GPU service over the project's gRPC transport, called by the project's client.</summary>
public class GrpcServiceTests
{
    private const string S = "/tlora.v1.TLoRAService/";

    private static TrainRequest Tiny(int steps = 2) => new()
    {
        ModelId = "sdxl-tiny", Image = ByteString.CopyFrom(JobSystem.ConceptBytes), Trigger = "sks", ClassWord = "robot", Rank = 4,
        Steps = steps, CheckpointInterval = 0, PreviewSteps = 1, ValidationPrompts = { "a {0}" }, Seed = 1,
    };

    [Fact]
    public async Task Train_streams_to_completion_then_inspect_download_and_sample_work()
    {
        await using var host = await ServiceHost.StartAsync();
        var models = await host.Channel.UnaryAsync<ListModelsRequest, ListModelsReply>(S + "ListModels", new ListModelsRequest());
        Assert.Equal(["flux-tiny", "sdxl-tiny"], models.Models.Select(m => m.ModelId).Order());
        Assert.All(models.Models, m => Assert.True(m.Trainable));
        Assert.Equal(64, models.Models.Single(m => m.ModelId == "sdxl-tiny").NativeResolution);
        // the widest attention projection: the UNet's largest block width, FLUX's heads × head dim
        Assert.Equal(64, models.Models.Single(m => m.ModelId == "sdxl-tiny").MaxRank);
        Assert.Equal(32, models.Models.Single(m => m.ModelId == "flux-tiny").MaxRank);
        Assert.All(models.Models, m =>
        {
            Assert.Equal(25, m.ValidationPrompts.Count);
            Assert.Equal("a {0} in the jungle", m.ValidationPrompts[0]);
        });

        var events = new List<TrainEvent>();
        using (var call = host.Channel.ServerStreaming<TrainRequest, TrainEvent>(S + "Train", Tiny()))
            await foreach (var e in call) events.Add(e);
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        Assert.Equal(TrainEvent.EventOneofCase.Queued, events[0].EventCase);
        Assert.Equal(TrainEvent.EventOneofCase.Completed, events[^1].EventCase);
        var jobId = events[0].JobId;
        var adapterId = events[^1].Completed.AdapterId;

        var job = await host.Channel.UnaryAsync<GetJobRequest, Job>(S + "GetJob", new GetJobRequest { JobId = jobId });
        Assert.Equal(JobState.Completed, job.State);
        var inspect = await host.Channel.UnaryAsync<InspectRequest, InspectReply>(S + "InspectAdapter", new InspectRequest { AdapterId = adapterId, IncludeLayers = true });
        Assert.Equal(Rpc.V1.AdapterMethod.Tlora, inspect.Adapter.Method);
        Assert.Equal(176, inspect.Layers.Count);

        var bytes = new List<byte>();
        string? sha = null;
        using (var dl = host.Channel.ServerStreaming<DownloadAdapterRequest, FileChunk>(S + "DownloadAdapter", new DownloadAdapterRequest { AdapterId = adapterId, ChunkSize = 4096 }))
            await foreach (var c in dl)
            {
                Assert.Equal(bytes.Count, c.Offset);
                bytes.AddRange(c.Data);
                if (c.Sha256.Length > 0) sha = c.Sha256;
            }
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes.ToArray())), sha);

        var images = new List<SampleEvent>();
        using (var sample = host.Channel.ServerStreaming<SampleRequest, SampleEvent>(S + "Sample",
                   new SampleRequest { ModelId = "sdxl-tiny", AdapterId = adapterId, Prompts = { "a sks robot" }, Steps = 2, ImagesPerPrompt = 2 }))
            await foreach (var e in sample) images.Add(e);
        Assert.Equal(2, images.Count(e => e.EventCase == SampleEvent.EventOneofCase.Image));
        Assert.Equal(SampleEvent.EventOneofCase.Completed, images[^1].EventCase);

        // a late watcher replays from any sequence number
        var replay = new List<JobEvent>();
        using (var watch = host.Channel.ServerStreaming<WatchJobRequest, JobEvent>(S + "WatchJob", new WatchJobRequest { JobId = jobId, FromSequence = 3 }))
            await foreach (var e in watch) replay.Add(e);
        Assert.Equal(events.Skip(2), replay.Select(e => e.Train));
    }

    [Theory]
    [InlineData("rank", StatusCode.InvalidArgument)]
    [InlineData("image", StatusCode.InvalidArgument)]
    [InlineData("model_id", StatusCode.InvalidArgument)]
    public async Task Invalid_training_requests_fail_with_the_field_named(string field, StatusCode code)
    {
        await using var host = await ServiceHost.StartAsync();
        var r = Tiny();
        if (field == "rank") r.Rank = 9999;
        if (field == "image") r.Image = ByteString.CopyFromUtf8("not an image");
        if (field == "model_id") r.ModelId = "nope";
        using var call = host.Channel.ServerStreaming<TrainRequest, TrainEvent>(S + "Train", r);
        var ex = await Assert.ThrowsAsync<RpcException>(async () => { await foreach (var _ in call) { } });
        Assert.Equal(code, ex.StatusCode);
        Assert.StartsWith(field + ":", ex.Status.Detail);
    }

    [Fact]
    public async Task Unknown_ids_are_not_found_and_a_full_queue_is_resource_exhausted()
    {
        await using var host = await ServiceHost.StartAsync(queueCapacity: 1);
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Channel.UnaryAsync<GetJobRequest, Job>(S + "GetJob", new GetJobRequest { JobId = "train-nope" }));
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        ex = await Assert.ThrowsAsync<RpcException>(() => host.Channel.UnaryAsync<InspectRequest, InspectReply>(S + "InspectAdapter", new InspectRequest { AdapterId = "x" }));
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        ex = await Assert.ThrowsAsync<RpcException>(() => host.Channel.UnaryAsync<GetJobRequest, Job>(S + "GetJob", new GetJobRequest()));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);

        // one long job runs, one waits; the next is refused
        var first = host.Channel.ServerStreaming<TrainRequest, TrainEvent>(S + "Train", Tiny(steps: 200));
        var firstEvents = first.GetAsyncEnumerator();
        Assert.True(await firstEvents.MoveNextAsync());
        var running = firstEvents.Current.JobId;
        using var second = host.Channel.ServerStreaming<TrainRequest, TrainEvent>(S + "Train", Tiny());
        var secondEvents = second.GetAsyncEnumerator();
        await WaitUntil(async () => (await host.Channel.UnaryAsync<GetJobRequest, Job>(S + "GetJob", new GetJobRequest { JobId = running })).State == JobState.Running);
        Assert.True(await secondEvents.MoveNextAsync());
        using var third = host.Channel.ServerStreaming<TrainRequest, TrainEvent>(S + "Train", Tiny());
        ex = await Assert.ThrowsAsync<RpcException>(async () => { await foreach (var _ in third) { } });
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);

        // cancelling both: the queued one at once, the running one at its next step
        var cancelled = await host.Channel.UnaryAsync<CancelJobRequest, Job>(S + "CancelJob", new CancelJobRequest { JobId = secondEvents.Current.JobId });
        Assert.Equal(JobState.Cancelled, cancelled.State);
        await host.Channel.UnaryAsync<CancelJobRequest, Job>(S + "CancelJob", new CancelJobRequest { JobId = running });
        TrainEvent last = firstEvents.Current;
        while (await firstEvents.MoveNextAsync()) last = firstEvents.Current;
        Assert.Equal(TrainEvent.EventOneofCase.Cancelled, last.EventCase);
        await firstEvents.DisposeAsync();
        first.Dispose();
    }

    private static async Task WaitUntil(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 600 && !await condition(); i++) await Task.Delay(100);
    }
}
