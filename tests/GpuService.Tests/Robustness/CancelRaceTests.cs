using TLoRA.Contracts.V1;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Jobs;
using JobState = TLoRA.GpuService.Jobs.JobState;

namespace TLoRA.GpuService.Tests.Robustness;

/// <summary>Issue 14 item 11: a job cancelled right after it was submitted is cancelled, whatever the engine thread is
/// doing with it at that moment (taken from the queue but not started yet was answered FAILED_PRECONDITION).</summary>
public class CancelRaceTests
{
    [Fact]
    public async Task Cancel_right_after_submit_always_cancels()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, capacity: 4);
        for (var i = 0; i < 40; i++)
        {
            var job = sys.Manager.SubmitSample(new SampleRequest { ModelId = "sdxl-tiny", Prompts = { "a robot" }, Steps = 50 });
            var answer = sys.Manager.Cancel(job.JobId); // must not throw FAILED_PRECONDITION
            Assert.Contains(answer.State, new[] { JobState.Cancelled, JobState.Running, JobState.Queued });
            var events = await sys.WaitForEndAsync(job.JobId, TimeSpan.FromMinutes(1));
            Assert.Equal(JobEvent.EventOneofCase.Cancelled, events[^1].EventCase);
            Assert.Equal(JobState.Cancelled, sys.Manager.Get(job.JobId).State);
        }
    }
}
