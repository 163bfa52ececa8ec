using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TLoRA.Contracts.V1;

namespace TLoRA.Gateway.Tests.Robustness;

/// <summary>Issue 14: a call that outlives its deadline is the call's failure, not the service's. Before, one slow
/// ListJobs marked a healthy GPU service down (DeadlineExceeded counted as "unavailable") and every request got 503
/// until the next health check.</summary>
public sealed class SlowServiceTests
{
    /// <summary>A GPU service that is healthy and reports its load at once, but whose ListJobs takes longer than the
    /// gateway waits.</summary>
    private sealed class SlowListJobs : TLoRAService.TLoRAServiceBase
    {
        public override Task<ServiceInfo> GetServiceInfo(GetServiceInfoRequest request, ServerCallContext context) =>
            Task.FromResult(new ServiceInfo { ServiceId = "gpu-slow", QueuedJobs = 0 });

        public override async Task<ListJobsReply> ListJobs(ListJobsRequest request, ServerCallContext context)
        {
            await Task.Delay(TimeSpan.FromSeconds(30), context.CancellationToken);
            return new ListJobsReply();
        }

        public override Task<ListModelsReply> ListModels(ListModelsRequest request, ServerCallContext context) =>
            Task.FromResult(new ListModelsReply());
    }

    private sealed class Serving : Grpc.Health.V1.Health.HealthBase
    {
        public override Task<Grpc.Health.V1.HealthCheckResponse> Check(Grpc.Health.V1.HealthCheckRequest request, ServerCallContext context) =>
            Task.FromResult(new Grpc.Health.V1.HealthCheckResponse { Status = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving });
    }

    [Fact]
    public async Task A_call_past_its_deadline_is_504_and_leaves_the_service_healthy()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddGrpc();
        await using var fake = builder.Build();
        fake.MapGrpcService<SlowListJobs>();
        fake.MapGrpcService<Serving>();
        await fake.StartAsync();
        var fakeAddress = fake.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();

        // one health check at start, the next a minute later: nothing puts a service marked down back during the test
        await using var gateway = GatewayFixture.BuildGateway([fakeAddress],
            new() { ["CallTimeoutSeconds"] = "1", ["HealthCheckIntervalSeconds"] = "60" });
        await gateway.StartAsync();
        var address = new Uri(gateway.Urls.First());
        using var http = GatewayFixture.Client(address);
        await WaitHealthyAsync(http);

        using (var slow = await http.GetAsync("/api/jobs"))
            await ApiTests.AssertProblemAsync(slow, HttpStatusCode.GatewayTimeout, null);
        // at once after the timeout, before any health check could put it back: still healthy, still answering
        var health = await http.GetFromJsonAsync<JsonElement>("/health");
        Assert.Equal("healthy", health.GetProperty("services")[0].GetProperty("status").GetString());
        using var models = await http.GetAsync("/api/models");
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
    }

    private static async Task WaitHealthyAsync(HttpClient http)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var response = await http.GetAsync("/health");
            if (response.StatusCode == HttpStatusCode.OK) return;
            Assert.True(DateTime.UtcNow < deadline, "the fake service never became healthy: " + await response.Content.ReadAsStringAsync());
            await Task.Delay(100);
        }
    }
}
