using System.Net.Http.Json;
using System.Text.Json;

namespace TLoRA.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class HubTests(GatewayFixture fx)
{
    [Fact]
    public async Task A_late_joiner_gets_every_event_once_in_order_ending_with_done()
    {
        NodePeer.FindNode();
        var job = await fx.SubmitTinyJobAsync(steps: 12, checkpointInterval: 6);
        var id = job.GetProperty("jobId").GetString()!;
        // Join once the job is under way, so the joiner needs history (from 1) and then live events.
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while ((await fx.Http.GetFromJsonAsync<JsonElement>($"/api/jobs/{id}")).GetProperty("lastSequence").GetInt64() < 3)
        {
            Assert.True(DateTime.UtcNow < deadline, "the job did not start");
            await Task.Delay(100);
        }

        var (exit, lines, errors) = await NodePeer.RunAsync("watch_job.js", TimeSpan.FromMinutes(4), fx.BaseAddress.ToString(), id, "1");
        Assert.True(exit == 0, $"node exited {exit}: {errors}\n{string.Join('\n', lines)}");
        var events = lines.Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.GetProperty("type").GetString() != "joined").ToList();
        Assert.Contains(lines, l => l.Contains("\"joined\"", StringComparison.Ordinal));

        Assert.All(events, e => Assert.Equal(id, e.GetProperty("jobId").GetString()));
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.GetProperty("sequence").GetInt64()));
        Assert.Equal("queued", events[0].GetProperty("type").GetString());
        Assert.Equal("trainCompleted", events[^1].GetProperty("type").GetString());
        Assert.Equal(12, events.Count(e => e.GetProperty("type").GetString() == "trainStep"));
        var checkpoint = events.First(e => e.GetProperty("type").GetString() == "trainCheckpoint");
        Assert.StartsWith("/api/images/", checkpoint.GetProperty("previews")[0].GetProperty("imageUrl").GetString());
        Assert.Equal("data:image/png;base64,", checkpoint.GetProperty("previews")[0].GetProperty("thumbnail").GetString());

        var stored = await fx.Http.GetFromJsonAsync<JsonElement[]>($"/api/jobs/{id}/events?from=1");
        Assert.Equal(stored!.Select(e => e.GetProperty("type").GetString()), events.Select(e => e.GetProperty("type").GetString()));
    }

    [Fact]
    public async Task JoinAll_receives_job_messages_for_a_job_submitted_after_joining_ending_with_done()
    {
        NodePeer.FindNode();
        string? id = null;
        var (exit, lines, errors) = await NodePeer.RunAsync("watch_all.js", TimeSpan.FromMinutes(4), async (line, stdin) =>
        {
            if (!line.Contains("\"joined\"", StringComparison.Ordinal)) return;
            var job = await fx.SubmitTinyJobAsync();
            id = job.GetProperty("jobId").GetString()!;
            await stdin.WriteLineAsync(id);
            await stdin.FlushAsync();
        }, fx.BaseAddress.ToString());
        Assert.True(exit == 0, $"node exited {exit}: {errors}\n{string.Join('\n', lines)}");
        Assert.NotNull(id);
        Assert.Contains(lines, l => l.Contains("\"left\"", StringComparison.Ordinal));

        var events = lines.Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.TryGetProperty("jobId", out var j) && j.GetString() == id).ToList();
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.GetProperty("sequence").GetInt64()));
        Assert.Equal("queued", events[0].GetProperty("type").GetString());
        Assert.Equal("trainCompleted", events[^1].GetProperty("type").GetString());
        var stored = await fx.Http.GetFromJsonAsync<JsonElement[]>($"/api/jobs/{id}/events?from=1");
        Assert.Equal(stored!.Select(e => e.GetProperty("type").GetString()), events.Select(e => e.GetProperty("type").GetString()));
    }

    [Fact]
    public async Task Joining_a_finished_job_replays_it_from_the_sequence_asked()
    {
        var job = await fx.SubmitTinyJobAsync();
        var id = job.GetProperty("jobId").GetString()!;
        var all = await fx.EventsUntilEndAsync(id, TimeSpan.FromMinutes(3));

        var (exit, lines, errors) = await NodePeer.RunAsync("watch_job.js", TimeSpan.FromMinutes(2), fx.BaseAddress.ToString(), id, "3");
        Assert.True(exit == 0, $"node exited {exit}: {errors}\n{string.Join('\n', lines)}");
        var sequences = lines.Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.GetProperty("type").GetString() != "joined")
            .Select(e => e.GetProperty("sequence").GetInt64());
        Assert.Equal(Enumerable.Range(3, all.Count - 2).Select(i => (long)i), sequences);
    }
}
