using TLoRA.Engine.Tests;
using TLoRA.GpuService.Jobs;

namespace TLoRA.GpuService.Tests;

/// <summary>The load a service reports (GetServiceInfo: queued jobs + running) is what gateways place new jobs by. A job
/// the engine thread has taken from the queue but not started yet must still count, or a gateway asking in that moment
/// sees an idle service and puts the next job on it too (ScaleOutTests saw 2 services used for 3 jobs).</summary>
public sealed class JobLoadTests
{
    [Fact]
    public async Task A_job_counts_as_load_from_submit_through_the_engine_taking_it_to_its_start()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, start: false);
        var job = sys.Manager.SubmitTrain(JobSystem.TinyTrain());
        Assert.Equal((1, false), (sys.Manager.Queue.Count, sys.Manager.IsRunning));

        // the engine thread's two moves, one at a time: take the job, then start it
        var taken = await sys.Manager.Queue.DequeueAsync(CancellationToken.None);
        Assert.Equal(job.JobId, taken);
        Assert.Equal((0, true), (sys.Manager.Queue.Count, sys.Manager.IsRunning));
        var started = sys.Manager.TryStart(taken, CancellationToken.None);
        Assert.NotNull(started);
        sys.Manager.Queue.Handed();
        Assert.Equal((0, 0, true), (sys.Manager.Queue.Count, sys.Manager.Queue.InHand, sys.Manager.IsRunning));
        started.Value.Cancellation.Dispose();
    }

    [Fact]
    public async Task A_taken_job_that_was_cancelled_meanwhile_leaves_no_load_behind()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, start: false);
        var job = sys.Manager.SubmitTrain(JobSystem.TinyTrain());
        var taken = await sys.Manager.Queue.DequeueAsync(CancellationToken.None);
        sys.Manager.Cancel(job.JobId);
        Assert.Null(sys.Manager.TryStart(taken, CancellationToken.None));
        sys.Manager.Queue.Handed();
        Assert.Equal((0, 0, false), (sys.Manager.Queue.Count, sys.Manager.Queue.InHand, sys.Manager.IsRunning));
    }
}
