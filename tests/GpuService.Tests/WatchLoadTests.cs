using Google.Protobuf;
using TLoRA.Rpc.V1;

namespace TLoRA.GpuService.Tests;

/// <summary>Loopback load: 20 concurrent WatchJob streams over 5 queued jobs, two of them cancelled. Every watcher
/// must receive every event of its job exactly once, in order, ending with the job's terminal event.</summary>
public class WatchLoadTests
{
    private const string S = "/tlora.v1.TLoRAService/";

    [Fact]
    public async Task Twenty_watchers_see_every_event_of_five_jobs_in_order_without_loss_or_duplicates()
    {
        await using var host = await ServiceHost.StartAsync(queueCapacity: 8);
        var jobIds = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var request = new SampleRequest { ModelId = "sdxl-tiny", Prompts = { $"a robot {i}" }, Steps = 3, Seed = (ulong)i };
            var call = host.Channel.ServerStreaming<SampleRequest, SampleEvent>(S + "Sample", request);
            var e = call.GetAsyncEnumerator();
            Assert.True(await e.MoveNextAsync());
            jobIds.Add(e.Current.JobId);
            await e.DisposeAsync(); // the submitting client leaves; the job goes on
            call.Dispose();
        }
        // cancel one job while queued (the last) and one that may be running or queued (the second)
        await host.Channel.UnaryAsync<CancelJobRequest, Job>(S + "CancelJob", new CancelJobRequest { JobId = jobIds[4] });
        var watchers = Enumerable.Range(0, 20).Select(async w =>
        {
            var jobId = jobIds[w % 5];
            var seen = new List<SampleEvent>();
            using var call = host.Channel.ServerStreaming<WatchJobRequest, JobEvent>(S + "WatchJob",
                new WatchJobRequest { JobId = jobId, FromSequence = 1 },
                new TLoRA.Rpc.Client.CallOptions(DateTime.UtcNow.AddMinutes(4)));
            await foreach (var e in call) seen.Add(e.Sample);
            return (jobId, seen);
        }).ToList();
        try
        {
            await host.Channel.UnaryAsync<CancelJobRequest, Job>(S + "CancelJob", new CancelJobRequest { JobId = jobIds[1] });
        }
        catch (TLoRA.Rpc.RpcException e) when (e.StatusCode == TLoRA.Rpc.StatusCode.FailedPrecondition)
        {
            // it had already finished: fine, the watchers still see its whole history
        }
        var results = await Task.WhenAll(watchers);
        foreach (var group in results.GroupBy(r => r.jobId))
        {
            var stored = host.App.Services.GetService(typeof(Jobs.JobStore)) as Jobs.JobStore;
            var expected = stored!.Events(group.Key).Select(e => e.Sample).ToList();
            foreach (var (_, seen) in group)
            {
                Assert.Equal(expected, seen);
                Assert.Equal(Enumerable.Range(1, seen.Count).Select(i => (long)i), seen.Select(e => e.Sequence));
                Assert.Contains(seen[^1].EventCase, new[] { SampleEvent.EventOneofCase.Completed, SampleEvent.EventOneofCase.Cancelled });
            }
        }
        Assert.Equal(SampleEvent.EventOneofCase.Cancelled, results.First(r => r.jobId == jobIds[4]).seen[^1].EventCase);
        Assert.Equal(SampleEvent.EventOneofCase.Completed, results.First(r => r.jobId == jobIds[0]).seen[^1].EventCase);
    }
}
