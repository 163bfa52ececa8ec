using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using TLoRA.Gateway.Services;
using TLoRA.Contracts.V1;
using TLoRA.Gateway.Api;

namespace TLoRA.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class JobFeedTests(GatewayFixture fx)
{
    [Fact]
    public async Task A_subscriber_sees_every_event_of_a_job_submitted_through_the_api_despite_a_failing_one()
    {
        var feed = fx.Gateway.Services.GetRequiredService<JobFeed>();
        var seen = new ConcurrentQueue<JobEvent>();
        var calls = 0;
        using var failing = feed.Subscribe(_ =>
        {
            Interlocked.Increment(ref calls);
            throw new InvalidOperationException("a broken subscriber");
        });
        using var subscription = feed.Subscribe(seen.Enqueue);

        var job = await fx.SubmitTinyJobAsync();
        var id = job.GetProperty("jobId").GetString()!;
        var stored = await fx.EventsUntilEndAsync(id, TimeSpan.FromMinutes(3));
        // The feed hands over each event right after the service stores it; allow it a moment to deliver the last.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (seen.Count(e => e.JobId == id) < stored.Count && DateTime.UtcNow < deadline) await Task.Delay(50);

        var mine = seen.Where(e => e.JobId == id).ToList();
        Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (long)i), mine.Select(e => e.Sequence));
        Assert.Equal(stored.Select(e => e.GetProperty("type").GetString()), mine.Select(JobEvents.Type));
        Assert.All(mine, e => Assert.Equal(JobEvents.ToDto(e).Type, JobEvents.Type(e)));
        Assert.Equal(JobEventTypes.TrainCompleted, JobEvents.Type(mine[^1]));
        Assert.True(Volatile.Read(ref calls) >= mine.Count, "the failing subscriber was called for every event too");

        // unsubscribed handlers are no longer called
        subscription.Dispose();
        failing.Dispose();
        var before = seen.Count;
        var next = await fx.SubmitTinyJobAsync();
        await fx.EventsUntilEndAsync(next.GetProperty("jobId").GetString()!, TimeSpan.FromMinutes(3));
        Assert.Equal(before, seen.Count);
    }
}
