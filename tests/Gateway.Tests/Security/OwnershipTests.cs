using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using TLoRA.Gateway.Security;

namespace TLoRA.Gateway.Tests.Security;

/// <summary>Every entry point, over the real gateway and GPU service: no credentials → 401, a missing scope → 403,
/// another owner's job → 404 over REST and the hub, and the hub's all-jobs feed carries only the caller's jobs.</summary>
[Collection(GatewayCollection.Name)]
public sealed class OwnershipTests(GatewayFixture fx)
{
    [Theory]
    [InlineData("GET", "/api/jobs")]
    [InlineData("GET", "/api/models")]
    [InlineData("GET", "/api/jobs/x.train-1")]
    [InlineData("POST", "/api/jobs/x.train-1/cancel")]
    [InlineData("POST", "/api/samples")]
    [InlineData("GET", "/api/images/x.img-1")]
    [InlineData("POST", "/api/jobs/x.train-1/resume")]
    [InlineData("DELETE", "/api/jobs/x.train-1")]
    [InlineData("GET", "/api/jobs/x.train-1/image")]
    [InlineData("GET", "/api/train/defaults")]
    public async Task Without_credentials_every_route_is_401_problem_json(string method, string path)
    {
        using var http = new HttpClient { BaseAddress = fx.BaseAddress };
        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("correlationId").GetString()));

        using var wrong = GatewayFixture.Client(fx.BaseAddress, ApiKeys.Mint());
        using var refused = await wrong.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task A_key_is_not_taken_from_the_query_outside_the_hub()
    {
        using var http = new HttpClient { BaseAddress = fx.BaseAddress };
        using var response = await http.GetAsync($"/api/jobs?access_token={Uri.EscapeDataString(TestKeys.Alice)}");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task A_read_only_key_reads_but_may_not_submit_or_cancel()
    {
        using var reader = GatewayFixture.Client(fx.BaseAddress, TestKeys.Reader);
        using (var list = await reader.GetAsync("/api/jobs")) Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        using (var sample = await reader.PostAsJsonAsync("/api/samples", new { modelId = "sdxl-tiny", prompts = new[] { "a robot" } }))
            Assert.Equal(HttpStatusCode.Forbidden, sample.StatusCode);
        using (var cancel = await reader.PostAsync("/api/jobs/x.train-1/cancel", null)) Assert.Equal(HttpStatusCode.Forbidden, cancel.StatusCode);
        using var form = GatewayFixture.TinyForm([1, 2, 3], "x.jpg");
        using var train = await reader.PostAsync("/api/jobs", form);
        Assert.Equal(HttpStatusCode.Forbidden, train.StatusCode);
    }

    [Fact]
    public async Task Another_owners_job_is_not_found_over_REST_even_when_it_sends_the_owner_header()
    {
        var job = await fx.SubmitTinyJobAsync();
        var id = job.GetProperty("jobId").GetString()!;
        using var bob = GatewayFixture.Client(fx.BaseAddress, TestKeys.Bob);
        // the gateway never trusts the service's metadata from its own callers
        bob.DefaultRequestHeaders.Add("tlora-owner", "alice");
        bob.DefaultRequestHeaders.Add("tlora-scopes", "admin");
        foreach (var path in new[] { $"/api/jobs/{id}", $"/api/jobs/{id}/events?from=1", $"/api/jobs/{id}/image", $"/api/images/{id}-concept" })
        {
            using var response = await bob.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }
        using (var cancel = await bob.PostAsync($"/api/jobs/{id}/cancel", null)) Assert.Equal(HttpStatusCode.NotFound, cancel.StatusCode);
        var bobs = await bob.GetFromJsonAsync<JsonElement[]>("/api/jobs?limit=200");
        Assert.DoesNotContain(bobs!, j => j.GetProperty("jobId").GetString() == id);

        var alices = await fx.Http.GetFromJsonAsync<JsonElement[]>("/api/jobs?limit=200");
        Assert.Contains(alices!, j => j.GetProperty("jobId").GetString() == id);
        using var admin = GatewayFixture.Client(fx.BaseAddress, TestKeys.Admin);
        using (var seen = await admin.GetAsync($"/api/jobs/{id}")) Assert.Equal(HttpStatusCode.OK, seen.StatusCode);
        using (var concept = await fx.Http.GetAsync($"/api/jobs/{id}/image")) Assert.Equal(HttpStatusCode.OK, concept.StatusCode);

        var events = await fx.EventsUntilEndAsync(id, TimeSpan.FromMinutes(3));
        var adapter = events[^1].GetProperty("data").GetProperty("adapterId").GetString();
        using (var download = await bob.GetAsync($"/api/adapters/{Uri.EscapeDataString(adapter!)}")) Assert.Equal(HttpStatusCode.NotFound, download.StatusCode);
        using (var mine = await fx.Http.GetAsync($"/api/adapters/{Uri.EscapeDataString(adapter!)}")) Assert.Equal(HttpStatusCode.OK, mine.StatusCode);
    }

    [Fact]
    public async Task The_hub_refuses_callers_without_credentials()
    {
        await using var anonymous = Hub(null);
        var e = await Assert.ThrowsAnyAsync<HttpRequestException>(() => anonymous.StartAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, e.StatusCode);
    }

    [Fact]
    public async Task Joining_another_owners_job_is_not_found_and_JoinAll_carries_only_ones_own_jobs()
    {
        await using var alice = Hub(TestKeys.Alice);
        await using var bob = Hub(TestKeys.Bob);
        await using var admin = Hub(TestKeys.Admin);
        var seen = new ConcurrentDictionary<string, ConcurrentQueue<(string JobId, bool Final)>>();
        foreach (var (name, hub) in new[] { ("alice", alice), ("bob", bob), ("admin", admin) })
        {
            var queue = seen.GetOrAdd(name, _ => new());
            hub.On<JsonElement>("activity", m => queue.Enqueue((m.GetProperty("jobId").GetString()!, m.GetProperty("final").GetBoolean())));
            await hub.StartAsync();
            await hub.InvokeAsync("JoinAll");
        }

        var id = (await fx.SubmitTinyJobAsync()).GetProperty("jobId").GetString()!;
        var refused = await Assert.ThrowsAsync<HubException>(() => bob.InvokeAsync("Join", id, 1L));
        Assert.Contains("not found", refused.Message, StringComparison.Ordinal);

        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (!(seen["alice"].Any(a => a.JobId == id && a.Final) && seen["admin"].Any(a => a.JobId == id && a.Final)))
        {
            Assert.True(DateTime.UtcNow < deadline, "alice's and the admin's all-jobs feeds did not see the job end");
            await Task.Delay(100);
        }
        await Task.Delay(300);
        Assert.DoesNotContain(seen["bob"], a => a.JobId == id);
    }

    private HubConnection Hub(string? key) => new HubConnectionBuilder()
        .WithUrl(new Uri(fx.BaseAddress, "/hubs/jobs"), o =>
        {
            if (key is not null) o.AccessTokenProvider = () => Task.FromResult<string?>(key);
            o.Transports = HttpTransportType.WebSockets;
        })
        .Build();
}
