using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using TLoRA.Contracts.V1;
using TLoRA.GpuService.Jobs;
using Xunit.Abstractions;

namespace TLoRA.GpuService.Tests.Robustness;

/// <summary>Issue 14 item 8: watchers that do not read are bounded; they end with RESOURCE_EXHAUSTED telling where to
/// re-attach (before: three non-reading WatchJobs clients made the service buffer everything, RSS 364 → 818 MB).</summary>
public class WatcherBoundsTests(ITestOutputHelper output)
{
    /// <summary>With the default-sized bound of 1 MB, and (for the comparison in the same run) with no real bound,
    /// as before: the same 40 MB of events nobody reads.</summary>
    [Theory]
    [InlineData(1L << 20)]
    [InlineData(1L << 40)]
    public async Task Three_watchers_that_never_read_hold_at_most_their_bound(long bound)
    {
        var unbounded = bound > 1L << 30;
        await using var host = await ServiceHost.StartAsync(configure: o => o.MaxWatcherBufferBytes = bound);
        var admin = new Metadata { { Caller.OwnerHeader, "ops" }, { Caller.ScopesHeader, Caller.AdminScope } };
        var calls = Enumerable.Range(0, 3).Select(_ => host.Client.WatchJobs(new WatchJobsRequest(), admin)).ToList();
        foreach (var c in calls) await c.ResponseHeadersAsync;
        var bus = host.App.Services.GetRequiredService<JobManager>().Bus;
        var payload = new byte[100 * 1024];
        new Random(8).NextBytes(payload);
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var rssBefore = MemoryBoundsTests.RssBytes();
        const int events = 400; // 40 MB of events nobody reads
        for (var i = 0; i < events; i++)
        {
            var e = new JobEvent { TrainCheckpoint = new TrainCheckpoint { Step = i, AdapterId = "a" } };
            e.TrainCheckpoint.Previews.Add(new Preview { ImageId = $"i{i}", ThumbnailPng = ByteString.CopyFrom(payload) });
            bus.Publish("synthetic.train-0001", e);
        }
        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        var rssAfter = MemoryBoundsTests.RssBytes();
        output.WriteLine($"bound {(unbounded ? "none" : $"{bound >> 20} MB")}: {events} events of 100 KB, 3 watchers not reading: managed heap {heapBefore >> 20} → {heapAfter >> 20} MB " +
                         $"({(heapAfter - heapBefore) / 1048576.0:+0.0;-0.0} MB), RSS {rssBefore >> 20} → {rssAfter >> 20} MB");
        if (unbounded)
        {
            // the measurement sees the buffering it guards against
            Assert.True(heapAfter - heapBefore > 30 << 20, $"the heap grew only {(heapAfter - heapBefore) >> 20} MB without a bound");
            foreach (var call in calls) call.Dispose();
            return;
        }
        Assert.True(heapAfter - heapBefore < 3 * bound + (8 << 20), $"the heap grew {(heapAfter - heapBefore) >> 20} MB");

        foreach (var call in calls)
        {
            var read = 0;
            var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                while (await call.ResponseStream.MoveNext()) read++;
            });
            Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
            Assert.Contains("fell behind", ex.Status.Detail);
            Assert.Contains("MaxWatcherBufferBytes", ex.Status.Detail);
            output.WriteLine($"read {read} events before the status");
            Assert.InRange(read, 0, events - 1);
            call.Dispose();
        }
    }

    [Fact]
    public async Task A_job_watcher_that_falls_behind_is_told_the_sequence_to_watch_from()
    {
        using var dir = new Engine.Tests.TempDir();
        using var sys = new JobSystem(dir.Path, start: false);
        var job = sys.Manager.SubmitSample(new SampleRequest { ModelId = "sdxl-tiny", Prompts = { "a robot" } });
        var bus = new JobEventBus(sys.Store, maxWatcherBytes: 64 * 1024);
        await using var watch = bus.Watch(job.JobId, 1, CancellationToken.None).GetAsyncEnumerator();
        Assert.True(await watch.MoveNextAsync()); // the stored queued event, then live ones
        for (var i = 0; i < 100; i++) bus.Publish(job.JobId, new JobEvent { Failed = new Failed { Message = new string('x', 1024) } });
        var ex = await Assert.ThrowsAsync<JobRequestException>(async () => await watch.MoveNextAsync());
        Assert.Equal(JobError.ResourceExhausted, ex.Error);
        Assert.Contains("watch again from sequence 2", ex.Message);
    }
}
