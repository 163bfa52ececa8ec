using TLoRA.Contracts.V1;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Jobs;
using JobState = TLoRA.GpuService.Jobs.JobState;

namespace TLoRA.GpuService.Tests.Robustness;

/// <summary>Issue 14 items 12 and 13: watches end on ended and interrupted jobs; a restart says `interrupted`; a resume
/// says `resumed` from its checkpoint's step.</summary>
public class InterruptAndResumeTests
{
    [Fact]
    public async Task A_watch_from_past_the_end_of_a_finished_job_ends_at_once()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path);
        var job = sys.Manager.SubmitSample(new SampleRequest { ModelId = "sdxl-tiny", Prompts = { "a robot" }, Steps = 1 });
        var events = await sys.WaitForEndAsync(job.JobId);
        foreach (var from in new long[] { events.Count + 1, events.Count + 50 })
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var tail = new List<JobEvent>();
            await foreach (var e in sys.Manager.Bus.Watch(job.JobId, from, cts.Token)) tail.Add(e);
            Assert.Empty(tail);
            Assert.False(cts.IsCancellationRequested, $"the watch from {from} waited for its deadline");
        }
    }

    [Fact]
    public async Task A_crash_leaves_an_interrupted_event_a_watch_ends_there_and_resume_says_resumed()
    {
        using var dir = new TempDir();
        string jobId;
        using (var sys = new JobSystem(dir.Path, start: false))
        {
            jobId = sys.Manager.SubmitTrain(JobSystem.TinyTrain(steps: 6, interval: 2)).JobId;
            // what a kill -9 mid-run leaves: the job stored as running at step 3, its checkpoint at 2 not on disk
            var record = sys.Manager.Get(jobId);
            record.State = JobState.Running;
            record.Step = 3;
            sys.Store.Update(record);
        }
        using var restarted = new JobSystem(dir.Path);
        Assert.Equal(JobState.Interrupted, restarted.Manager.Get(jobId).State);
        var last = restarted.Store.LastEvent(jobId)!;
        Assert.Equal(JobEvent.EventOneofCase.Interrupted, last.EventCase);
        Assert.Equal(3, last.Interrupted.Step);
        foreach (var from in new[] { 1L, last.Sequence, last.Sequence + 1 })
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var seen = new List<JobEvent>();
            await foreach (var e in restarted.Manager.Bus.Watch(jobId, from, cts.Token)) seen.Add(e);
            Assert.False(cts.IsCancellationRequested, $"the watch of the interrupted job from {from} did not end");
            if (from <= last.Sequence) Assert.Equal(JobEvent.EventOneofCase.Interrupted, seen[^1].EventCase);
        }

        restarted.Manager.Resume(jobId);
        var events = await restarted.WaitForEndAsync(jobId);
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        var resumed = Assert.Single(events, e => e.EventCase == JobEvent.EventOneofCase.Resumed).Resumed;
        Assert.Equal(0, resumed.FromStep); // no checkpoint was saved: from the start
        Assert.Equal(3, resumed.InterruptedStep);
        Assert.Equal(JobEvent.EventOneofCase.TrainCompleted, events[^1].EventCase);
    }

    [Fact]
    public async Task A_shutdown_mid_run_publishes_interrupted_and_a_resume_continues_from_the_checkpoint()
    {
        using var dir = new TempDir();
        string jobId;
        using (var sys = new JobSystem(dir.Path))
        {
            jobId = sys.Manager.SubmitTrain(JobSystem.TinyTrain(steps: 30, interval: 2)).JobId;
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await foreach (var e in sys.Manager.Bus.Watch(jobId, 1, cts.Token))
                if (e.TrainCheckpoint?.Step == 2) break;
            Assert.True(sys.Worker.Stop(TimeSpan.FromMinutes(2)));
        }
        using var restarted = new JobSystem(dir.Path);
        var stored = restarted.Store.Events(jobId);
        Assert.Equal(JobEvent.EventOneofCase.Interrupted, Assert.Single(stored, e => e.EventCase == JobEvent.EventOneofCase.Interrupted).EventCase);
        var stepAtStop = stored.Single(e => e.EventCase == JobEvent.EventOneofCase.Interrupted).Interrupted.Step;
        restarted.Manager.Resume(jobId);
        var events = await restarted.WaitForEndAsync(jobId);
        var resumed = Assert.Single(events, e => e.EventCase == JobEvent.EventOneofCase.Resumed).Resumed;
        Assert.True(resumed.FromStep >= 2 && resumed.FromStep % 2 == 0, $"resumed from {resumed.FromStep}");
        Assert.Equal(stepAtStop, resumed.InterruptedStep);
        // the steps after the resume point come again: the first step after `resumed` is from_step + 1
        var after = events.SkipWhile(e => e.EventCase != JobEvent.EventOneofCase.Resumed)
            .First(e => e.EventCase == JobEvent.EventOneofCase.TrainStep).TrainStep;
        Assert.Equal(resumed.FromStep + 1, after.Step);
    }
}
