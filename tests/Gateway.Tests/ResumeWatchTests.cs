using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using TLoRA.Engine.Tests;
using TLoRA.Gateway.Api;
using TLoRA.GpuService.Tests;

namespace TLoRA.Gateway.Tests;

/// <summary>Issue 14: a hub member of a job that is interrupted and then resumed by someone else (another tab, a REST
/// client, another gateway replica) sees the resume and the steps after it without joining again. Before, the job's
/// watcher ended with the interrupted stream and only a new Join followed the job again.</summary>
[Collection(GatewayCollection.Name)]
public sealed class ResumeWatchTests
{
    [Fact]
    public async Task A_member_that_stays_joined_follows_the_job_through_its_interruption_and_resume()
    {
        var port = GatewayFixture.FreePort();
        using var data = new TempDir();
        await using var gateway = GatewayFixture.BuildGateway($"http://127.0.0.1:{port}");
        await gateway.StartAsync();
        var address = new Uri(gateway.Urls.First());
        using var http = GatewayFixture.Client(address, TestKeys.Admin);

        var service = await ServiceHost.StartAsync(dataDirectory: data.Path, port: port);
        string jobId;
        var events = new ConcurrentQueue<JsonElement>();
        await using var hub = new HubConnectionBuilder().WithUrl(new Uri(address, JobEventTypes.HubPath), o =>
        {
            o.AccessTokenProvider = () => Task.FromResult<string?>(TestKeys.Admin);
            o.Transports = HttpTransportType.WebSockets;
        }).Build();
        hub.On<JsonElement>(JobEventTypes.EventMethod, events.Enqueue);
        try
        {
            await UntilAsync(async () => (await http.GetAsync("/health")).StatusCode == HttpStatusCode.OK, "the gateway never saw the service");
            using (var form = GatewayFixture.TinyForm(File.ReadAllBytes(Path.Combine(FixturePaths.Root, "concept", "toy-robot.jpg")), "toy-robot.jpg",
                       steps: 5000, checkpointInterval: 3))
            using (var submitted = await http.PostAsync("/api/jobs", form))
            {
                Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
                jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetString()!;
            }
            await hub.StartAsync();
            await hub.InvokeAsync("Join", jobId, 1L);
            await UntilAsync(() => Task.FromResult(events.Any(e => Type(e) == JobEventTypes.TrainCheckpoint)), "no checkpoint reached the hub");
        }
        finally
        {
            await service.DisposeAsync(); // a graceful stop: the running job is interrupted
        }
        await UntilAsync(() => Task.FromResult(events.Any(e => Type(e) == JobEventTypes.Interrupted)), "the member never saw the interruption");

        await using var again = await ServiceHost.StartAsync(dataDirectory: data.Path, port: port);
        await UntilAsync(async () => (await http.PostAsync($"/api/jobs/{jobId}/resume", null)).StatusCode == HttpStatusCode.OK,
            "the job could not be resumed over REST");
        // the member did nothing: the resume and the steps after it reach it anyway
        await UntilAsync(() => Task.FromResult(events.SkipWhile(e => Type(e) != JobEventTypes.Resumed).Count(e => Type(e) == JobEventTypes.TrainStep) >= 3),
            "the member did not follow the resumed job");
        using (var cancel = await http.PostAsync($"/api/jobs/{jobId}/cancel", null)) Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        await UntilAsync(() => Task.FromResult(events.Any(e => Type(e) == JobEventTypes.Cancelled)), "the member did not see the cancel");

        // every event once, in order, without a gap
        var sequences = events.Select(e => e.GetProperty("sequence").GetInt64()).ToArray();
        Assert.Equal(Enumerable.Range(1, sequences.Length).Select(i => (long)i), sequences);
        await gateway.StopAsync();
    }

    private static string? Type(JsonElement e) => e.GetProperty("type").GetString();

    private static async Task UntilAsync(Func<Task<bool>> done, string what)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!await done())
        {
            Assert.True(DateTime.UtcNow < deadline, what);
            await Task.Delay(100);
        }
    }

}
