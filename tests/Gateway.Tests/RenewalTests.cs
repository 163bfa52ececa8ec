using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using TLoRA.Contracts.V1;
using TLoRA.Gateway.Services;
using TLoRA.GpuService.Tests;

namespace TLoRA.Gateway.Tests;

/// <summary>Streams that outlive their deadline: WatchJob and the all-jobs feed are renewed, with no event lost or
/// repeated. The deadline here is a fraction of a second, so one tiny job spans several renewals.</summary>
[Collection(GatewayCollection.Name)]
public sealed class RenewalTests
{
    [Fact]
    public async Task A_job_followed_across_many_stream_deadlines_arrives_whole_and_once()
    {
        await using var service = await ServiceHost.StartAsync();
        var gateway = GatewayFixture.BuildGateway([service.Address.ToString()], new() { ["WatchRenewMinutes"] = "0.005" });
        await using var _ = gateway;
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var feed = gateway.Services.GetRequiredService<JobFeed>();
        feed.Connected += _ => connected.TrySetResult();
        var fed = new ConcurrentQueue<JobEvent>();
        using var subscription = feed.Subscribe(fed.Enqueue);
        await gateway.StartAsync();
        await connected.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var job = await service.Client.SubmitTrainAsync(new TrainRequest
        {
            ModelId = "sdxl-tiny", Image = Google.Protobuf.ByteString.CopyFrom(File.ReadAllBytes(Path.Combine(Engine.Tests.FixturePaths.Root, "concept", "toy-robot.jpg"))),
            Trigger = "sks", ClassWord = "robot", Rank = 4, Steps = 10, CheckpointInterval = 2, PreviewSteps = 2, ValidationPrompts = { "a {0}" },
        });
        var watched = new List<JobEvent>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await foreach (var e in gateway.Services.GetRequiredService<GpuClient>().WatchAsync(GatewayCaller.Gateway, job.JobId, 1, timeout.Token)) watched.Add(e);

        var stored = service.App.Services.GetRequiredService<GpuService.Jobs.JobStore>().Events(job.JobId);
        Assert.True(stored.Count > 25, $"only {stored.Count} events");
        Assert.Equal(stored, watched);
        for (var i = 0; i < 100 && fed.Count(e => e.JobId == job.JobId) < stored.Count; i++) await Task.Delay(50);
        Assert.Equal(stored, fed.Where(e => e.JobId == job.JobId));
        await gateway.StopAsync();
    }
}
