using TLoRA.Gateway.Api;
using TLoRA.WebUI.State;

namespace TLoRA.WebUI.Tests.State;

/// <summary>Issue 14 items 12–13: an interrupted job shows as interrupted from its event, and after a resume each step
/// shows one value (the newest).</summary>
public sealed class ResumeTimelineTests
{
    [Fact]
    public void Steps_sent_again_after_a_resume_replace_the_ones_before()
    {
        var ev = new Events("j");
        var job = new JobLive("j");
        job.Apply(ev.Started(6));
        for (var s = 1; s <= 5; s++) job.Apply(ev.Step(s, 6, loss: 1.0));
        job.Apply(ev.Next(JobEventTypes.Interrupted, new InterruptedData(5, null)));
        Assert.Equal(JobStates.Interrupted, job.State);
        Assert.True(job.CanResume);
        job.Apply(ev.Queued());
        job.Apply(ev.Next(JobEventTypes.Resumed, new ResumedData(2, 5)));
        Assert.Equal(2, job.Step);
        Assert.Equal([1, 2], job.Steps.Select(p => p.Step));
        job.Apply(ev.Started(6, startStep: 2));
        for (var s = 3; s <= 6; s++) job.Apply(ev.Step(s, 6, loss: 0.25));
        Assert.Equal([1, 2, 3, 4, 5, 6], job.Steps.Select(p => p.Step));
        Assert.Equal([1.0, 1.0, 0.25, 0.25, 0.25, 0.25], job.Steps.Select(p => p.Loss));
    }

    [Fact]
    public void A_step_repeated_without_a_resume_event_still_shows_once()
    {
        var ev = new Events("j");
        var job = new JobLive("j");
        job.Apply(ev.Step(1, 3, loss: 1.0));
        job.Apply(ev.Step(2, 3, loss: 1.0));
        job.Apply(ev.Step(2, 3, loss: 0.5));
        Assert.Equal([1, 2], job.Steps.Select(p => p.Step));
        Assert.Equal(0.5, job.Steps[^1].Loss);
    }
}
