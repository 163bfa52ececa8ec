using Grpc.Core;
using TLoRA.Contracts.V1;
using TLoRA.GpuService.Jobs;

namespace TLoRA.GpuService.Tests.Robustness;

/// <summary>Issue 14 items 2, 3 and 4 over gRPC: jobs belong to the owner the gateway names; another owner finds
/// nothing (NOT_FOUND, as for an id that does not exist); admins see all; quotas name their limit; a huge id is not
/// echoed back.</summary>
public class OwnershipTests
{
    private static Metadata As(string owner, bool admin = false)
    {
        var m = new Metadata { { Caller.OwnerHeader, owner } };
        if (admin) m.Add(Caller.ScopesHeader, "jobs admin");
        return m;
    }

    [Fact]
    public async Task Another_owner_gets_not_found_everywhere_and_an_admin_sees_all()
    {
        await using var host = await ServiceHost.StartAsync();
        var c = host.Client;
        var events = new List<JobEvent>();
        using (var call = c.Train(GrpcServiceTests.Tiny(), As("alice")))
            await foreach (var e in call.ResponseStream.ReadAllAsync()) events.Add(e);
        var jobId = events[0].JobId;
        var adapterId = events[^1].TrainCompleted.AdapterId;
        var imageId = events.Last(e => e.EventCase == JobEvent.EventOneofCase.TrainCheckpoint).TrainCheckpoint.Previews[0].ImageId;

        var bob = As("bob");
        async Task NotFound(Func<Task> call)
        {
            var ex = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        }
        await NotFound(async () => await c.GetJobAsync(new GetJobRequest { JobId = jobId }, bob));
        await NotFound(async () => await c.CancelJobAsync(new CancelJobRequest { JobId = jobId }, bob));
        await NotFound(async () => await c.ResumeJobAsync(new ResumeJobRequest { JobId = jobId }, bob));
        await NotFound(async () => await c.InspectAdapterAsync(new InspectRequest { AdapterId = adapterId }, bob));
        await NotFound(async () =>
        {
            using var w = c.WatchJob(new WatchJobRequest { JobId = jobId }, bob);
            await w.ResponseStream.MoveNext();
        });
        await NotFound(async () =>
        {
            using var d = c.DownloadAdapter(new DownloadAdapterRequest { AdapterId = adapterId }, bob);
            await d.ResponseStream.MoveNext();
        });
        await NotFound(async () =>
        {
            using var d = c.DownloadImage(new DownloadImageRequest { ImageId = imageId }, bob);
            await d.ResponseStream.MoveNext();
        });
        // sampling with alice's adapter: the same answer as for an adapter that does not exist
        var sample = await Assert.ThrowsAsync<RpcException>(async () => await c.SubmitSampleAsync(
            new SampleRequest { ModelId = "sdxl-tiny", AdapterId = adapterId, Prompts = { "a robot" } }, bob));
        var none = await Assert.ThrowsAsync<RpcException>(async () => await c.SubmitSampleAsync(
            new SampleRequest { ModelId = "sdxl-tiny", AdapterId = adapterId + "x", Prompts = { "a robot" } }, bob));
        Assert.Equal((none.StatusCode, none.Status.Detail.Replace(adapterId + "x", "ID")), (sample.StatusCode, sample.Status.Detail.Replace(adapterId, "ID")));
        Assert.Empty((await c.ListJobsAsync(new ListJobsRequest(), bob)).Jobs);

        Assert.Equal(jobId, Assert.Single((await c.ListJobsAsync(new ListJobsRequest(), As("alice"))).Jobs).JobId);
        Assert.Equal(jobId, (await c.GetJobAsync(new GetJobRequest { JobId = jobId }, As("root", admin: true))).JobId);
        Assert.Single((await c.ListJobsAsync(new ListJobsRequest(), As("root", admin: true))).Jobs);
        using (var d = c.DownloadAdapter(new DownloadAdapterRequest { AdapterId = adapterId }, As("alice")))
            Assert.True(await d.ResponseStream.MoveNext());
    }

    [Fact]
    public async Task WatchJobs_shows_each_owner_only_their_jobs()
    {
        await using var host = await ServiceHost.StartAsync();
        var c = host.Client;
        using var bobFeed = c.WatchJobs(new WatchJobsRequest(), As("bob"));
        using var aliceFeed = c.WatchJobs(new WatchJobsRequest(), As("alice"));
        await bobFeed.ResponseHeadersAsync;
        await aliceFeed.ResponseHeadersAsync;
        var aliceJob = await c.SubmitSampleAsync(new SampleRequest { ModelId = "sdxl-tiny", Prompts = { "a robot" }, Steps = 1 }, As("alice"));
        var bobJob = await c.SubmitSampleAsync(new SampleRequest { ModelId = "sdxl-tiny", Prompts = { "a robot" }, Steps = 1 }, As("bob"));
        async Task<List<string>> Jobs(AsyncServerStreamingCall<JobEvent> feed)
        {
            var ids = new List<string>();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            while (await feed.ResponseStream.MoveNext(cts.Token))
            {
                ids.Add(feed.ResponseStream.Current.JobId);
                if (feed.ResponseStream.Current.EventCase == JobEvent.EventOneofCase.SampleCompleted) break;
            }
            return ids;
        }
        Assert.All(await Jobs(bobFeed), id => Assert.Equal(bobJob.JobId, id));
        Assert.All(await Jobs(aliceFeed), id => Assert.Equal(aliceJob.JobId, id));
    }

    [Fact]
    public async Task Quotas_refuse_with_resource_exhausted_naming_the_limit()
    {
        await using var host = await ServiceHost.StartAsync(queueCapacity: 8, configure: o =>
        {
            o.MaxActiveJobsPerOwner = 2;
            o.MaxStreamsPerOwner = 2;
        });
        var c = host.Client;
        var slow = new SampleRequest { ModelId = "sdxl-tiny", Prompts = { "a robot" }, Steps = 500 };
        var first = await c.SubmitSampleAsync(slow, As("alice"));
        await c.SubmitSampleAsync(slow, As("alice"));
        var jobs = await Assert.ThrowsAsync<RpcException>(async () => await c.SubmitSampleAsync(slow, As("alice")));
        Assert.Equal(StatusCode.ResourceExhausted, jobs.StatusCode);
        Assert.Contains("MaxActiveJobsPerOwner", jobs.Status.Detail);
        await c.SubmitSampleAsync(slow, As("bob")); // another owner has its own allowance

        using var w1 = c.WatchJobs(new WatchJobsRequest(), As("alice"));
        using var w2 = c.WatchJob(new WatchJobRequest { JobId = first.JobId }, As("alice"));
        await w1.ResponseHeadersAsync;
        Assert.True(await w2.ResponseStream.MoveNext());
        using var w3 = c.WatchJobs(new WatchJobsRequest(), As("alice"));
        var streams = await Assert.ThrowsAsync<RpcException>(async () => await w3.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.ResourceExhausted, streams.StatusCode);
        Assert.Contains("MaxStreamsPerOwner", streams.Status.Detail);
        foreach (var j in (await c.ListJobsAsync(new ListJobsRequest(), As("x", admin: true))).Jobs)
            await c.CancelJobAsync(new CancelJobRequest { JobId = j.JobId }, As("x", admin: true));
    }

    [Fact]
    public async Task A_huge_id_is_answered_not_found_without_being_echoed()
    {
        await using var host = await ServiceHost.StartAsync();
        var id = new string('a', 100_000);
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await host.Client.GetJobAsync(new GetJobRequest { JobId = id }));
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.True(ex.Status.Detail.Length < 300, $"{ex.Status.Detail.Length} characters");
        Assert.Contains("100000 characters", ex.Status.Detail);
    }
}
