using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using TLoRA.Contracts.V1;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Jobs;

namespace TLoRA.GpuService.Tests;

/// <summary>WatchJobs: every job's live events on one stream, over gRPC; and the bus's all-jobs watchers.</summary>
public class WatchJobsTests
{
    [Fact]
    public async Task A_stream_opened_before_two_jobs_receives_both_in_order_to_their_terminal_events()
    {
        await using var host = await ServiceHost.StartAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        using var watch = host.Client.WatchJobs(new WatchJobsRequest(), cancellationToken: timeout.Token);
        // The headers come once the service's subscription is in place: nothing published after them is missed.
        await watch.ResponseHeadersAsync;

        var train = (await host.Client.SubmitTrainAsync(GrpcServiceTests.Tiny())).JobId;
        var sample = (await host.Client.SubmitSampleAsync(new SampleRequest { ModelId = "sdxl-tiny", Prompts = { "a robot" }, Steps = 2, Seed = 2 })).JobId;

        var seen = new Dictionary<string, List<JobEvent>> { [train] = [], [sample] = [] };
        var ended = new HashSet<string>();
        var store = host.App.Services.GetRequiredService<JobStore>();
        try
        {
            await foreach (var e in watch.ResponseStream.ReadAllAsync(timeout.Token))
            {
                var jobId = e.JobId;
                Assert.True(seen.ContainsKey(jobId), $"an event of an unknown job {jobId}");
                Assert.DoesNotContain(jobId, ended);
                seen[jobId].Add(e);
                if (JobEventBus.IsTerminal(e) && ended.Add(jobId) && ended.Count == 2) break;
            }
        }
        catch (Exception e) when (timeout.IsCancellationRequested)
        {
            // Say whether the stream lost events or the jobs never got that far.
            Assert.Fail($"timed out ({e.GetType().Name}): " + string.Join("; ", seen.Select(j =>
                $"{j.Key}: streamed {j.Value.Count}, stored {store.Events(j.Key).Count()}, state {store.Get(j.Key)?.State}")));
        }

        foreach (var (jobId, events) in seen)
        {
            Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
            Assert.True(JobEventBus.IsTerminal(events[^1]));
            Assert.Equal(store.Events(jobId), events);
        }
        Assert.Equal(JobEvent.EventOneofCase.TrainCompleted, seen[train][^1].EventCase);
        Assert.Equal(JobEvent.EventOneofCase.SampleCompleted, seen[sample][^1].EventCase);
    }

    [Fact]
    public async Task Cancelling_the_client_call_ends_the_stream_and_the_service_drops_its_watcher()
    {
        await using var host = await ServiceHost.StartAsync();
        var bus = host.App.Services.GetRequiredService<JobEventBus>();
        using var cts = new CancellationTokenSource();
        using var watch = host.Client.WatchJobs(new WatchJobsRequest(), cancellationToken: cts.Token);
        await watch.ResponseHeadersAsync;
        Assert.Equal(1, bus.AllWatcherCount);

        var reading = Task.Run(async () =>
        {
            await foreach (var _ in watch.ResponseStream.ReadAllAsync()) { }
        });
        await cts.CancelAsync();
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => reading.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled }, ex.ToString());
        for (var i = 0; i < 100 && bus.AllWatcherCount > 0; i++) await Task.Delay(50);
        Assert.Equal(0, bus.AllWatcherCount);
    }

    [Fact]
    public async Task The_bus_sends_every_job_to_all_jobs_watchers_and_drops_a_cancelled_one()
    {
        using var dir = new TempDir();
        var store = new JobStore(dir.File("jobs.db"));
        var bus = new JobEventBus(store);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var first = bus.WatchAll(cts.Token).GetAsyncEnumerator(cts.Token);
        var second = bus.WatchAll(cts.Token).GetAsyncEnumerator(cts.Token);
        // subscribing happens inside the first MoveNextAsync, before it waits
        var firstNext = first.MoveNextAsync();
        var secondNext = second.MoveNextAsync();
        Assert.Equal(2, bus.AllWatcherCount);

        foreach (var id in new[] { "a", "b", "a" })
            bus.Publish(id, new JobEvent { TrainStep = new TrainStep { Step = 1 } });
        var got = new List<(string, long)>();
        for (var i = 0; i < 3; i++)
        {
            Assert.True(i == 0 ? await firstNext : await first.MoveNextAsync());
            got.Add((first.Current.JobId, first.Current.Sequence));
        }
        Assert.Equal([("a", 1L), ("b", 1L), ("a", 2L)], got);

        // a third watcher leaves by cancellation: its pending read ends and the bus forgets it
        using var leave = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var third = bus.WatchAll(leave.Token).GetAsyncEnumerator(leave.Token);
        var thirdNext = third.MoveNextAsync();
        Assert.Equal(3, bus.AllWatcherCount);
        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await thirdNext);
        await third.DisposeAsync();
        Assert.Equal(2, bus.AllWatcherCount);

        Assert.True(await secondNext);
        Assert.Equal(("a", 1L), (second.Current.JobId, second.Current.Sequence));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await first.MoveNextAsync());
        await first.DisposeAsync();
        Assert.Equal(1, bus.AllWatcherCount);
        await second.DisposeAsync();
        Assert.Equal(0, bus.AllWatcherCount);
    }
}
