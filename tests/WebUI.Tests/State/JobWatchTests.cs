using TLoRA.Rpc.V1;
using TLoRA.WebUI.Backend;
using TLoRA.WebUI.State;
using TLoRA.WebUI.Tests.Support;
using static TLoRA.WebUI.Tests.State.Events;

namespace TLoRA.WebUI.Tests.State;

public sealed class JobWatchTests
{
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in 10 s");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Reconnects_from_the_last_applied_sequence_after_the_stream_breaks()
    {
        var backend = new ScriptedBackend(new Job { JobId = "j", State = JobState.Running, TotalSteps = 4 });
        var down = new BackendException(503, "GPU service unavailable", "no GPU service is reachable", null);
        backend.Scripts.Enqueue(([Started("j", 1, 4), Step("j", 2, 1, 4, 1.0)], down));
        // the service replays from 3 but this stream also repeats event 2 (as an overlapping replay may): it is dropped
        backend.Scripts.Enqueue(([Step("j", 2, 1, 4, 1.0), Step("j", 3, 2, 4, 0.5)], null));
        var problems = new List<string?>();
        await using var watch = new JobWatch(backend, "j") { RetryDelay = TimeSpan.FromMilliseconds(50) };
        watch.Changed += () =>
        {
            lock (problems) problems.Add(watch.Problem);
            return Task.CompletedTask;
        };
        await watch.StartAsync(CancellationToken.None);
        await WaitUntilAsync(() => watch.Timeline.LastSequence == 3);
        await backend.Live.Writer.WriteAsync(Train("j", 4, e => e.Completed = new TrainCompleted { AdapterId = "a", Steps = 4 }));
        await WaitUntilAsync(() => watch.Timeline.IsFinished);

        Assert.Equal([1L, 3L], backend.WatchedFrom);
        Assert.Equal([1, 2], watch.Timeline.Steps.Select(s => s.Step));
        lock (problems)
        {
            Assert.Contains("GPU service unavailable: no GPU service is reachable — reconnecting…", problems);
            Assert.Null(problems[^1]);
        }
    }

    [Fact]
    public async Task An_unknown_job_fails_to_start_with_not_found()
    {
        var backend = new ScriptedBackend(new Job { JobId = "j" });
        await using var watch = new JobWatch(backend, "nope");
        var e = await Assert.ThrowsAsync<BackendException>(() => watch.StartAsync(CancellationToken.None));
        Assert.Equal(404, e.Status);
    }

    [Fact]
    public void Field_messages_drop_the_service_field_prefix()
    {
        var e = new BackendException(400, "Invalid request", "min_rank: must be in 1..rank (4), got 9", "minRank");
        Assert.Equal("must be in 1..rank (4), got 9", e.FieldMessage);
        Assert.Equal("no field here", new BackendException(400, "Invalid request", "no field here", null).FieldMessage);
    }
}
