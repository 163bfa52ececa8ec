using Google.Protobuf;
using TLoRA.Contracts.V1;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Jobs;
using TLoRA.GpuService.Service;
using Xunit.Abstractions;
using JobState = TLoRA.GpuService.Jobs.JobState;

namespace TLoRA.GpuService.Tests.Robustness;

/// <summary>Issue 14 item 9: DeleteJob (owner-scoped) removes a job and its files; retention deletes old ones; an
/// ended job's stored request drops its image (before: +239 MB for ten submit-and-cancel of a 19 MB image).</summary>
public class RetentionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Delete_removes_the_job_its_events_and_files_for_its_owner_only()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path);
        var alice = new Caller("alice", false);
        var job = sys.Manager.SubmitTrain(JobSystem.TinyTrain(steps: 2, interval: 1), alice);
        Assert.Equal(JobError.FailedPrecondition, Assert.Throws<JobRequestException>(() => sys.Manager.Delete(job.JobId, alice)).Error);
        var events = await sys.WaitForEndAsync(job.JobId);
        var adapter = events[^1].TrainCompleted.AdapterId;
        Assert.Equal(JobError.NotFound, Assert.Throws<JobRequestException>(() => sys.Manager.Delete(job.JobId, new Caller("bob", false))).Error);
        Assert.True(Directory.Exists(sys.Paths.JobDirectory(job.JobId)));
        var freed = sys.Manager.Delete(job.JobId, alice);
        Assert.True(freed > 0);
        Assert.False(Directory.Exists(sys.Paths.JobDirectory(job.JobId)));
        Assert.Null(sys.Store.Get(job.JobId));
        Assert.Empty(sys.Store.Events(job.JobId));
        Assert.Null(sys.Store.ArtifactPath(adapter, "adapter"));
        Assert.Equal(JobError.NotFound, Assert.Throws<JobRequestException>(() => sys.Manager.Delete(job.JobId, alice)).Error);
    }

    [Fact]
    public async Task Retention_deletes_jobs_that_ended_long_enough_ago()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path);
        var job = sys.Manager.SubmitSample(new SampleRequest { ModelId = "sdxl-tiny", Prompts = { "a robot" }, Steps = 1 });
        await sys.WaitForEndAsync(job.JobId);
        Assert.Equal((0, 0L), RetentionSweeper.Sweep(sys.Manager, TimeSpan.FromDays(1)));
        await Task.Delay(20);
        var (count, freed) = RetentionSweeper.Sweep(sys.Manager, TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, count);
        Assert.True(freed > 0);
        Assert.Null(sys.Store.Get(job.JobId));
    }

    [Fact]
    public void Ten_submit_and_cancel_of_a_large_image_do_not_keep_ten_images()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, start: false);
        var pixels = new byte[900 * 900 * 3];
        new Random(9).NextBytes(pixels);
        using var noise = TorchSharp.torch.tensor(pixels, [900, 900, 3]);
        var image = ByteString.CopyFrom(Engine.IO.ImageCodec.EncodePng(noise));
        long Size() => Directory.EnumerateFiles(dir.Path, "jobs.db*").Sum(f => new FileInfo(f).Length);
        var before = Size();
        var afterFive = 0L;
        for (var i = 0; i < 10; i++)
        {
            if (i == 5) afterFive = Size();
            var r = JobSystem.TinyTrain();
            r.Image = image;
            var job = sys.Manager.SubmitTrain(r);
            Assert.Equal(JobState.Cancelled, sys.Manager.Cancel(job.JobId).State);
            Assert.True(sys.Store.GetRequest(job.JobId, TrainRequest.Parser).Image.IsEmpty);
        }
        var after = Size();
        output.WriteLine($"image {image.Length / 1024} KB; the store (database + WAL) grew {(afterFive - before) / 1024} KB over the first five " +
                         $"submit-and-cancel, {(after - afterFive) / 1024} KB over the next five (freed pages are reused)");
        // a constant overhead (the WAL and free pages), not one image per job
        Assert.True(after - afterFive < image.Length, $"the next five grew the store {after - afterFive} bytes");
    }
}
