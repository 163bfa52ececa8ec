using TLoRA.Contracts.V1;
using TLoRA.WebUI.State;
using TLoRA.WebUI.Tests.Support;
using static TLoRA.WebUI.Tests.State.Events;

namespace TLoRA.WebUI.Tests.State;

public sealed class JobHistoryTests
{
    [Fact]
    public async Task Replays_the_stored_events_and_stops_at_the_records_last_sequence()
    {
        // a running job: its stream stays open for live events after the three stored ones
        var backend = new ScriptedBackend(new Job { JobId = "j", State = JobState.Running, LastSequence = 3, TotalSteps = 4 });
        backend.Scripts.Enqueue(([Started("j", 1, 4), Step("j", 2, 1, 4, 1.0), Step("j", 3, 2, 4, 0.5)], null));
        var timeline = await new JobHistory(backend).LoadAsync("j", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, timeline.LastSequence);
        Assert.Equal([1, 2], timeline.Steps.Select(s => s.Step));
        Assert.Equal([1L], backend.WatchedFrom);
    }

    [Fact]
    public async Task A_later_read_fetches_only_the_events_since_the_last_one()
    {
        var job = new Job { JobId = "j", State = JobState.Running, LastSequence = 3, TotalSteps = 9 };
        var backend = new ScriptedBackend(job);
        backend.Scripts.Enqueue(([Started("j", 1, 9), Step("j", 2, 1, 9, 1.0), Step("j", 3, 2, 9, 0.5)], null));
        backend.Scripts.Enqueue(([Step("j", 4, 3, 9, 0.4), Step("j", 5, 4, 9, 0.3)], null));
        var history = new JobHistory(backend);
        var first = await history.LoadAsync("j", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        // nothing new: no stream is opened
        Assert.Same(first, await history.LoadAsync("j", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        job.LastSequence = 5;
        var later = await history.LoadAsync("j", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([1L, 4L], backend.WatchedFrom);
        Assert.Equal([1, 2, 3, 4], later.Steps.Select(s => s.Step));
    }

    [Fact]
    public async Task A_job_without_events_is_not_watched()
    {
        var backend = new ScriptedBackend(new Job { JobId = "q", State = JobState.Queued, QueuePosition = 2 });
        var timeline = await new JobHistory(backend).LoadAsync("q", CancellationToken.None);
        Assert.Equal((JobState.Queued, 2), (timeline.State, timeline.QueuePosition));
        Assert.Empty(backend.WatchedFrom);
    }

    [Fact]
    public async Task An_unknown_job_is_not_found()
    {
        var backend = new ScriptedBackend(new Job { JobId = "j" });
        var e = await Assert.ThrowsAsync<TLoRA.WebUI.Backend.BackendException>(() => new JobHistory(backend).LoadAsync("nope", CancellationToken.None));
        Assert.Equal(404, e.Status);
    }
}
