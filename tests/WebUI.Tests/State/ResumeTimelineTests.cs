using TLoRA.Contracts.V1;
using TLoRA.WebUI.State;
using static TLoRA.WebUI.Tests.State.Events;

namespace TLoRA.WebUI.Tests.State;

/// <summary>Issue 14 item 13: after an interruption and a resume, each step shows one value (the newest).</summary>
public sealed class ResumeTimelineTests
{
    [Fact]
    public void Steps_sent_again_after_a_resume_replace_the_ones_before()
    {
        var t = new JobTimeline("j");
        long seq = 0;
        t.Apply(Started("j", ++seq, 6));
        for (var s = 1; s <= 5; s++) t.Apply(Step("j", ++seq, s, 6, loss: 1.0));
        t.Apply(Of("j", ++seq, e => e.Interrupted = new Interrupted { Step = 5 }));
        Assert.Equal(JobState.Interrupted, t.State);
        t.Apply(Queued("j", ++seq, 1));
        t.Apply(Of("j", ++seq, e => e.Resumed = new Resumed { FromStep = 2, InterruptedStep = 5 }));
        Assert.Equal(2, t.Step);
        Assert.Equal([1, 2], t.Steps.Select(p => p.Step));
        t.Apply(Started("j", ++seq, 6, start: 2));
        for (var s = 3; s <= 6; s++) t.Apply(Step("j", ++seq, s, 6, loss: 0.25));
        Assert.Equal([1, 2, 3, 4, 5, 6], t.Steps.Select(p => p.Step));
        Assert.Equal([1.0, 1.0, 0.25, 0.25, 0.25, 0.25], t.Steps.Select(p => p.Loss));
    }

    [Fact]
    public void A_step_repeated_without_a_resume_event_still_shows_once()
    {
        var t = new JobTimeline("j");
        t.Apply(Step("j", 1, 1, 3, loss: 1.0));
        t.Apply(Step("j", 2, 2, 3, loss: 1.0));
        t.Apply(Step("j", 3, 2, 3, loss: 0.5));
        Assert.Equal([1, 2], t.Steps.Select(p => p.Step));
        Assert.Equal(0.5, t.Steps[^1].Loss);
    }
}
