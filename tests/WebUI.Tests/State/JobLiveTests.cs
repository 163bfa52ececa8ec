using TLoRA.Gateway.Api;
using TLoRA.WebUI.State;

namespace TLoRA.WebUI.Tests.State;

public sealed class JobLiveTests
{
    private const string Id = "gpu-1.train-a";

    private static JobDto Record(string state, int step = 0, int total = 10, long last = 0, string? method = Methods.TLoRA) =>
        new(Id, "train", state, state == JobStates.Queued ? 2 : 0, Events.T0, null, null, last, step, total, "sdxl-tiny", null, null, "sks", "robot", method, "gpu-1");

    [Fact]
    public void Events_fold_in_sequence_order_and_a_replayed_sequence_is_ignored()
    {
        var events = new Events(Id);
        var job = new JobLive(Id);
        job.Seed(Record(JobStates.Queued));
        var history = new[] { events.Queued(), events.Started(10), events.Step(1, 10, 0.9), events.Step(2, 10, 0.8), events.Step(3, 10, 0.7) };
        Assert.All(history, e => Assert.True(job.Apply(e)));

        // a reconnect re-joins and the hub replays what overlaps: nothing is applied twice
        Assert.False(job.Apply(Events.Again(history[3])));
        Assert.False(job.Apply(Events.Again(history[4])));
        Assert.True(job.Apply(events.Step(4, 10, 0.6)));

        Assert.Equal([1, 2, 3, 4], job.Steps.Select(s => s.Step));
        Assert.Equal(4, job.Step);
        Assert.Equal(history.Length + 1, job.LastSequence);
        Assert.Equal(JobStates.Running, job.State);
        Assert.Equal(0.4, job.Progress, 12);
    }

    /// <summary>Between leaving the queue and its first step a large job loads its model and initialises its T-LoRA
    /// adapter for minutes: the page must say so, not "Queued: position 1".</summary>
    [Fact]
    public void A_job_being_prepared_is_running_with_its_stage_until_it_starts()
    {
        var events = new Events(Id);
        var job = new JobLive(Id);
        job.Seed(Record(JobStates.Queued));
        job.Apply(events.Queued(1));
        Assert.Equal((JobStates.Queued, 1), (job.State, job.QueuePosition));
        job.Apply(events.Preparing(PreparingStages.LoadingModel));
        Assert.Equal((JobStates.Running, 0), (job.State, job.QueuePosition));
        Assert.Equal(new PreparingData(PreparingStages.LoadingModel, 0, 0), job.Preparation);
        job.Apply(events.Preparing(PreparingStages.InitialisingAdapter, 120, 560));
        Assert.Equal(new PreparingData(PreparingStages.InitialisingAdapter, 120, 560), job.Preparation);
        Assert.Equal(0, job.Progress); // no step yet: the preparation is not training progress
        job.Apply(events.Started(10));
        Assert.Null(job.Preparation);
        Assert.Equal(JobStates.Running, job.State);

        // a job that fails while it is prepared (an unreadable checkpoint, out of memory) leaves no stage behind
        var failing = new JobLive(Id);
        var more = new Events(Id);
        failing.Apply(more.Preparing(PreparingStages.LoadingModel));
        failing.Apply(more.Next(JobEventTypes.Failed, new FailedData(9, "broken checkpoint")));
        Assert.Null(failing.Preparation);
        Assert.Equal(JobStates.Failed, failing.State);
    }

    [Fact]
    public void An_older_sequence_arriving_late_is_ignored_and_another_jobs_event_too()
    {
        var events = new Events(Id);
        var job = new JobLive(Id);
        var first = events.Started(5);
        var step1 = events.Step(1, 5);
        var step2 = events.Step(2, 5);
        Assert.True(job.Apply(first));
        Assert.True(job.Apply(step2));
        Assert.False(job.Apply(step1));
        Assert.False(job.Apply(new Events("gpu-1.train-b").Step(3, 5) with { Sequence = 99 }));
        Assert.Equal([2], job.Steps.Select(s => s.Step));
    }

    [Fact]
    public void Smoothed_loss_is_an_exponential_moving_average_of_the_raw_loss()
    {
        var events = new Events(Id);
        var job = new JobLive(Id);
        job.Apply(events.Started(3));
        job.Apply(events.Step(1, 3, loss: 1.0));
        job.Apply(events.Step(2, 3, loss: 0.0));
        job.Apply(events.Step(3, 3, loss: 0.0));
        var expected2 = 1.0 + JobLive.SmoothingWeight * (0.0 - 1.0);
        var expected3 = expected2 + JobLive.SmoothingWeight * (0.0 - expected2);
        Assert.Equal([1.0, expected2, expected3], job.Steps.Select(s => s.SmoothedLoss));
    }

    [Fact]
    public void A_resumed_job_forgets_the_steps_after_its_checkpoint()
    {
        var events = new Events(Id);
        var job = new JobLive(Id);
        job.Apply(events.Started(6));
        for (var s = 1; s <= 4; s++) job.Apply(events.Step(s, 6));
        job.Apply(events.Started(6, startStep: 2));
        Assert.Equal([1, 2], job.Steps.Select(s => s.Step));
        Assert.Equal(2, job.Step);
    }

    [Fact]
    public void Plain_LoRA_has_no_rank_schedule_and_T_LoRA_has_one()
    {
        var lora = new JobLive(Id);
        lora.Apply(new Events(Id).Started(5, method: Methods.LoRA));
        Assert.False(lora.HasRankSchedule);
        var tlora = new JobLive(Id);
        tlora.Apply(new Events(Id).Started(5, method: Methods.TLoRA));
        Assert.True(tlora.HasRankSchedule);
        var queuedLora = new JobLive(Id);
        queuedLora.Seed(Record(JobStates.Queued, method: Methods.LoRA));
        Assert.False(queuedLora.HasRankSchedule);
    }

    [Fact]
    public void A_queued_job_does_not_know_its_rank_yet_and_says_so_rather_than_zero()
    {
        var job = new JobLive(Id);
        job.Seed(Record(JobStates.Queued));
        Assert.Null(job.Rank);
        Assert.Null(job.MinRank);
        Assert.Equal(2, job.QueuePosition);
    }

    [Fact]
    public void An_interrupted_record_stays_interrupted_after_its_history_is_replayed()
    {
        var events = new Events(Id);
        var history = new[] { events.Queued(), events.Started(10), events.Step(1, 10), events.Step(2, 10) };
        var job = new JobLive(Id);
        job.Seed(Record(JobStates.Interrupted, step: 2, last: history[^1].Sequence));
        foreach (var e in history) job.Apply(e);
        Assert.Equal(JobStates.Interrupted, job.State);
        Assert.True(job.CanResume);
        // the resumed run's events move it on
        job.Apply(events.Started(10, startStep: 2));
        Assert.Equal(JobStates.Running, job.State);
    }

    [Fact]
    public void A_sample_jobs_total_counts_every_prompt_and_never_jumps()
    {
        const string sampleId = "gpu-1.sample-a";
        var events = new Events(sampleId);
        var job = new JobLive(sampleId);
        var (prompts, steps) = (2, 25);
        job.Seed(new JobDto(sampleId, "sample", JobStates.Queued, 1, Events.T0, null, null, 0, 0, prompts * steps, "sdxl-tiny", null, null, null, null,
            null, "gpu-1"));
        var seen = new List<(int Step, int Total)> { (job.Step, job.TotalSteps) };
        job.Apply(events.Next(JobEventTypes.SampleStarted, new SampleStartedData(prompts, steps, prompts)));
        seen.Add((job.Step, job.TotalSteps));
        for (var p = 0; p < prompts; p++)
            for (var s = 1; s <= steps; s++)
            {
                job.Apply(events.Next(JobEventTypes.SampleStep, new SampleStepData(p, s, steps, 1000.0 * (steps - s) / steps)));
                seen.Add((job.Step, job.TotalSteps));
            }
        job.Apply(events.Next(JobEventTypes.SampleCompleted, new SampleCompletedData(["a", "b"], 3)));
        seen.Add((job.Step, job.TotalSteps));
        Assert.All(seen, x => Assert.Equal(prompts * steps, x.Total));
        Assert.Equal(seen.Select(x => x.Step).Order(), seen.Select(x => x.Step));
        Assert.Equal(prompts * steps, job.Step);
    }

    [Fact]
    public void Eta_counts_the_measured_preview_time_of_the_checkpoints_still_to_come()
    {
        var events = new Events(Id);
        var job = new JobLive(Id);
        const int total = 6, previewSeconds = 10;
        job.Apply(events.Started(total));
        job.Apply(events.Step(1, total));
        events.Now += TimeSpan.FromSeconds(1);
        job.Apply(events.Step(2, total));
        // the checkpoint at step 2 renders its previews for 10 s
        events.Now += TimeSpan.FromSeconds(previewSeconds / 2.0);
        job.Apply(events.Previews(2, 1, 1, 1, 2));
        Assert.NotNull(job.Previews);
        events.Now += TimeSpan.FromSeconds(previewSeconds / 2.0);
        job.Apply(events.Checkpoint(2));
        Assert.Equal(previewSeconds, job.PreviewSecondsPerCheckpoint!.Value, 9);
        Assert.Equal(2, job.CheckpointInterval);
        events.Now += TimeSpan.FromSeconds(1);
        job.Apply(events.Step(3, total));
        // 3 steps left at 1 s each, and checkpoints at 4 and 6, 10 s each
        Assert.Equal(3 * 1 + 2 * previewSeconds, job.EtaSeconds!.Value, 6);
    }

    [Fact]
    public void Eta_while_previews_render_counts_what_is_left_of_them()
    {
        Assert.Equal(0 + 0.75 * 10, Eta.Seconds(step: 4, total: 4, secondsPerStep: 1, interval: 2, previewSeconds: 10, renderingFraction: 0.25), 9);
        Assert.Equal(0.5, new PreviewProgress(2, 2, 2, 0, 4).Fraction, 9);
    }

    [Theory]
    [InlineData(0, 10, 5, 2)]   // 5 and 10
    [InlineData(5, 10, 5, 1)]   // 10
    [InlineData(0, 7, 5, 2)]    // 5 and the last step, 7
    [InlineData(3, 7, 0, 1)]    // only at the end
    [InlineData(7, 7, 5, 0)]
    public void Checkpoints_to_come_are_every_interval_and_the_last_step(int step, int total, int interval, int expected) =>
        Assert.Equal(expected, Eta.CheckpointsAfter(step, total, interval));
}
