using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using TLoRA.GpuService.Tests;

namespace TLoRA.Gateway.Tests.Robustness;

/// <summary>Issue 14 on the gateway's side: it sends the service token; resume over REST; null prompts are a 400.</summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayRobustnessTests(GatewayFixture fx)
{
    [Fact]
    public async Task Null_prompts_are_a_400_problem_not_a_500()
    {
        using var body = new StringContent("""{"modelId":"sdxl-tiny","prompts":[null]}""", Encoding.UTF8, "application/json");
        using var response = await fx.Http.PostAsync("/api/samples", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("prompts", out _));
    }

    [Fact]
    public async Task Resume_is_a_rest_route_that_refuses_jobs_that_were_not_interrupted()
    {
        var job = await fx.SubmitTinyJobAsync();
        var id = job.GetProperty("jobId").GetString()!;
        await fx.EventsUntilEndAsync(id, TimeSpan.FromMinutes(3));
        using var done = await fx.Http.PostAsync($"/api/jobs/{id}/resume", null);
        Assert.Equal(HttpStatusCode.Conflict, done.StatusCode);
        Assert.Contains("only interrupted jobs resume", await done.Content.ReadAsStringAsync());
        using var unknown = await fx.Http.PostAsync($"/api/jobs/{id}x/resume", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Delete_removes_an_ended_job_over_rest()
    {
        var job = await fx.SubmitTinyJobAsync();
        var id = job.GetProperty("jobId").GetString()!;
        await fx.EventsUntilEndAsync(id, TimeSpan.FromMinutes(3));
        using (var deleted = await fx.Http.DeleteAsync($"/api/jobs/{id}")) Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using (var gone = await fx.Http.GetAsync($"/api/jobs/{id}")) Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        using (var again = await fx.Http.DeleteAsync($"/api/jobs/{id}")) Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    /// <summary>The service refuses calls without the token (GpuService.Tests prove it); a gateway given the token
    /// reaches it.</summary>
    [Fact]
    public async Task The_gateway_sends_the_service_token_it_is_given()
    {
        const string token = "gateway-test-token-0123456789";
        await using var service = await ServiceHost.StartAsync(token: token);
        var (gateway, address) = await Start(service, token);
        try
        {
            using var http = GatewayFixture.Client(address);
            using var ok = await http.GetAsync(new Uri(address, "/api/jobs"));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        finally
        {
            await gateway.StopAsync();
            await gateway.DisposeAsync();
        }
    }

    private static async Task<(Microsoft.AspNetCore.Builder.WebApplication, Uri)> Start(ServiceHost service, string? token)
    {
        var settings = new Dictionary<string, string>();
        if (token is not null) settings["ServiceToken"] = token;
        var app = GatewayFixture.BuildGateway([service.Address.ToString()], settings);
        await app.StartAsync();
        return (app, new Uri(app.Urls.First()));
    }
}
