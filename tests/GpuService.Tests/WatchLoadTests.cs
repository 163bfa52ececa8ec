using Grpc.Core;
using TLoRA.Contracts.V1;

namespace TLoRA.GpuService.Tests;

/// <summary>Loopback load: 20 concurrent WatchJob streams over 5 queued jobs, two of them cancelled. Every watcher
/// must receive every event of its job exactly once, in order, ending with the job's terminal event.</summary>
public class WatchLoadTests
{
    [Fact]
    public async Task Twenty_watchers_see_every_event_of_five_jobs_in_order_without_loss_or_duplicates()
    {
        await using var host = await ServiceHost.StartAsync(queueCapacity: 8);
        var client = host.Client;
        var jobIds = new List<string>();
        for (var i = 0; i < 5; i++)
            jobIds.Add((await client.SubmitSampleAsync(new SampleRequest { ModelId = "sdxl-tiny", Prompts = { $"a robot {i}" }, Steps = 3, Seed = (ulong)i })).JobId);
        // cancel one job while queued (the last) and one that may be running or queued (the second)
        await client.CancelJobAsync(new CancelJobRequest { JobId = jobIds[4] });
        var watchers = Enumerable.Range(0, 20).Select(async w =>
        {
            var jobId = jobIds[w % 5];
            var seen = new List<JobEvent>();
            using var call = client.WatchJob(new WatchJobRequest { JobId = jobId, FromSequence = 1 }, deadline: DateTime.UtcNow.AddMinutes(4));
            await foreach (var e in call.ResponseStream.ReadAllAsync()) seen.Add(e);
            return (jobId, seen);
        }).ToList();
        try
        {
            await client.CancelJobAsync(new CancelJobRequest { JobId = jobIds[1] });
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
        {
            // it had already finished: fine, the watchers still see its whole history
        }
        var results = await Task.WhenAll(watchers);
        var store = (Jobs.JobStore)host.App.Services.GetService(typeof(Jobs.JobStore))!;
        foreach (var group in results.GroupBy(r => r.jobId))
        {
            var expected = store.Events(group.Key);
            foreach (var (_, seen) in group)
            {
                Assert.Equal(expected, seen);
                Assert.Equal(Enumerable.Range(1, seen.Count).Select(i => (long)i), seen.Select(e => e.Sequence));
                Assert.Contains(seen[^1].EventCase, new[] { JobEvent.EventOneofCase.SampleCompleted, JobEvent.EventOneofCase.Cancelled });
            }
        }
        Assert.Equal(JobEvent.EventOneofCase.Cancelled, results.First(r => r.jobId == jobIds[4]).seen[^1].EventCase);
        Assert.Equal(JobEvent.EventOneofCase.SampleCompleted, results.First(r => r.jobId == jobIds[0]).seen[^1].EventCase);
    }
}
