using TLoRA.Contracts.V1;
using TLoRA.WebUI.State;
using static TLoRA.WebUI.Tests.State.Events;

namespace TLoRA.WebUI.Tests.State;

public sealed class JobTimelineTests
{
    [Fact]
    public void Folds_a_training_run_in_order()
    {
        var t = new JobTimeline("j1");
        Assert.True(t.Apply(Queued("j1", 1, 2)));
        Assert.Equal(JobState.Queued, t.State);
        Assert.Equal(2, t.QueuePosition);
        t.Apply(Started("j1", 2, 4));
        Assert.Equal(JobState.Running, t.State);
        Assert.Equal(0, t.QueuePosition);
        Assert.Equal((4, 2, 1.0), (t.Rank, t.MinRank, t.Alpha));
        t.Apply(Step("j1", 3, 1, 4, loss: 1.0, t: 900, rank: 2));
        t.Apply(Step("j1", 4, 2, 4, loss: 0.5, t: 100, rank: 4));
        Assert.Equal(2, t.Step);
        Assert.Equal(0.5, t.Progress);
        Assert.Equal(1.0, t.EtaSeconds);
        Assert.Equal(2, t.StepsPerSecond);
        t.Apply(Previews("j1", 5, step: 2, index: 1, count: 2));
        Assert.Equal(new PreviewProgress(2, 1, 2, 1, 2), t.Previews);
        t.Apply(Checkpoint("j1", 6, 2, "a-2", [0x89, 0x50]));
        Assert.Null(t.Previews);
        Assert.Equal("a-2", t.AdapterId);
        var preview = Assert.Single(Assert.Single(t.Checkpoints).Previews);
        Assert.Equal("data:image/png;base64,iVA=", preview.ThumbnailDataUrl);
        t.Apply(Of("j1", 7, e => e.TrainCompleted = new TrainCompleted { AdapterId = "a-final", Steps = 4, ElapsedSeconds = 3.5, Summary = new InspectSummary { MeanEffectiveRank = 2.5 } }));
        Assert.Equal(JobState.Completed, t.State);
        Assert.True(t.IsFinished);
        Assert.Equal(("a-final", 4, 3.5, 2.5), (t.AdapterId, t.Step, t.ElapsedSeconds!.Value, t.MeanEffectiveRank!.Value));
        Assert.Equal(7, t.LastSequence);
    }

    [Fact]
    public void Smooths_the_loss_with_an_exponential_moving_average()
    {
        var t = new JobTimeline("j");
        t.Apply(Step("j", 1, 1, 3, loss: 1.0));
        t.Apply(Step("j", 2, 2, 3, loss: 0.0));
        t.Apply(Step("j", 3, 3, 3, loss: 2.0));
        // by hand, weight 0.1 on the newest: 1.0; 1.0 + 0.1·(0 − 1) = 0.9; 0.9 + 0.1·(2 − 0.9) = 1.01
        Assert.Equal([1.0, 0.9, 1.01], t.Steps.Select(s => Math.Round(s.SmoothedLoss, 12)));
        Assert.Equal([1.0, 0.0, 2.0], t.Steps.Select(s => s.Loss));
    }

    [Fact]
    public void Ignores_replayed_and_foreign_events()
    {
        var t = new JobTimeline("j");
        Assert.True(t.Apply(Step("j", 1, 1, 3, 1.0)));
        Assert.True(t.Apply(Step("j", 2, 2, 3, 1.0)));
        Assert.False(t.Apply(Step("j", 2, 2, 3, 1.0)));
        Assert.False(t.Apply(Step("j", 1, 1, 3, 1.0)));
        Assert.False(t.Apply(Step("other", 3, 3, 3, 1.0)));
        Assert.Equal(2, t.Steps.Count);
        Assert.Equal(2, t.LastSequence);
    }

    [Fact]
    public void A_resumed_job_forgets_the_steps_after_its_checkpoint()
    {
        var t = new JobTimeline("j");
        t.Apply(Started("j", 1, 6));
        for (var s = 1; s <= 4; s++) t.Apply(Step("j", 1 + s, s, 6, 1.0));
        t.Apply(Started("j", 6, 6, start: 2));
        Assert.Equal([1, 2], t.Steps.Select(s => s.Step));
        Assert.Equal(2, t.Step);
    }

    [Fact]
    public void Cancel_and_failure_keep_what_was_saved()
    {
        var t = new JobTimeline("j");
        t.Apply(Checkpoint("j", 1, 2, "a-2", [1]));
        t.Apply(Of("j", 2, e => e.Cancelled = new Cancelled { Step = 3, LastAdapterId = "" }));
        Assert.Equal(JobState.Cancelled, t.State);
        Assert.Equal("a-2", t.AdapterId);
        Assert.Equal(3, t.Step);

        var f = new JobTimeline("k");
        f.Apply(Of("k", 1, e => e.Failed = new Failed { Code = 8, Message = "out of memory on cuda:0" }));
        Assert.Equal(JobState.Failed, f.State);
        Assert.Equal("out of memory on cuda:0", f.Error);
    }

    [Fact]
    public void Sampling_progress_counts_prompts_times_steps()
    {
        var t = new JobTimeline("s");
        t.Apply(Of("s", 1, e => e.SampleStarted = new SampleStarted { Images = 4, Steps = 10, Prompts = 2 }));
        Assert.Equal(20, t.TotalSteps);
        t.Apply(Of("s", 2, e => e.SampleStep = new SampleStep { PromptIndex = 1, Step = 5, Steps = 10 }));
        Assert.Equal(15, t.Step);
        Assert.Equal(0.75, t.Progress);
        t.Apply(Of("s", 3, e => e.SampleImage = new SampleImage { Index = 0, Prompt = "p", ImageId = "s-i0", Width = 64, Height = 64 }));
        Assert.Null(Assert.Single(t.Samples).ThumbnailDataUrl);
        t.Apply(Of("s", 4, e => e.SampleCompleted = new SampleCompleted { ElapsedSeconds = 1 }));
        Assert.Equal(1.0, t.Progress);
        Assert.Equal(JobKind.Sample, t.Kind);
    }

    [Fact]
    public void Seeding_from_a_record_for_a_live_listing_skips_older_events()
    {
        var job = new Job { JobId = "j", State = JobState.Running, Step = 5, TotalSteps = 10, LastSequence = 7, Trigger = "sks", ClassWord = "robot" };
        var row = new JobTimeline("j");
        row.Seed(job, current: true);
        Assert.False(row.Apply(Step("j", 6, 4, 10, 1.0)));
        Assert.True(row.Apply(Step("j", 8, 6, 10, 1.0)));
        Assert.Equal(6, row.Step);

        var page = new JobTimeline("j");
        page.Seed(job);
        Assert.Equal(0, page.LastSequence);
        Assert.Equal((5, "sks", "robot"), (page.Step, page.Trigger, page.ClassWord));
    }
}
