using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using TLoRA.Rpc.Health;
using TLoRA.Rpc.Tests.Support;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace TLoRA.Rpc.Tests;

public sealed class HealthTests
{
    private const string Check = "/grpc.health.v1.Health/Check";
    private const string Watch = "/grpc.health.v1.Health/Watch";

    [Fact]
    public async Task Check_reports_registered_statuses_and_NOT_FOUND_for_unknown_services()
    {
        await using var server = await EchoServer.StartAsync();
        using var channel = server.CreateChannel();
        var registry = server.App.Services.GetRequiredService<HealthStatusRegistry>();
        registry.SetStatus("tlora.testing.v1.Echo", ServingStatus.NotServing);

        var overall = await channel.UnaryAsync<HealthCheckRequest, HealthCheckResponse>(Check, new HealthCheckRequest());
        Assert.Equal(ServingStatus.Serving, overall.Status);
        var echo = await channel.UnaryAsync<HealthCheckRequest, HealthCheckResponse>(Check,
            new HealthCheckRequest { Service = "tlora.testing.v1.Echo" });
        Assert.Equal(ServingStatus.NotServing, echo.Status);
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync<HealthCheckRequest, HealthCheckResponse>(Check,
            new HealthCheckRequest { Service = "nope" }));
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
    }

    [Fact]
    public async Task Watch_streams_the_current_status_then_every_change()
    {
        await using var server = await EchoServer.StartAsync();
        using var channel = server.CreateChannel();
        var registry = server.App.Services.GetRequiredService<HealthStatusRegistry>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var call = channel.ServerStreaming<HealthCheckRequest, HealthCheckResponse>(Watch,
            new HealthCheckRequest { Service = "svc" }, new Client.CallOptions(CancellationToken: cts.Token));
        var seen = new List<ServingStatus>();
        await foreach (var response in call.ReadAllAsync(cts.Token))
        {
            seen.Add(response.Status);
            switch (seen.Count)
            {
                case 1: registry.SetStatus("svc", ServingStatus.Serving); break;
                case 2: registry.SetStatus("svc", ServingStatus.NotServing); break;
                case 3: registry.ClearStatus("svc"); break;
            }
            if (seen.Count == 4) break;
        }
        Assert.Equal([ServingStatus.ServiceUnknown, ServingStatus.Serving, ServingStatus.NotServing, ServingStatus.ServiceUnknown], seen);
    }

    [Fact]
    public async Task Shutdown_turns_every_status_NOT_SERVING()
    {
        var server = await EchoServer.StartAsync();
        var registry = server.App.Services.GetRequiredService<HealthStatusRegistry>();
        registry.SetStatus("svc", ServingStatus.Serving);
        await server.DisposeAsync();
        Assert.True(registry.TryGetStatus("", out var overall));
        Assert.Equal(ServingStatus.NotServing, overall);
        Assert.True(registry.TryGetStatus("svc", out var svc));
        Assert.Equal(ServingStatus.NotServing, svc);
    }
}
