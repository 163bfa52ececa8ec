using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using TLoRA.Contracts.V1;
using TLoRA.GpuService.Service;

namespace TLoRA.GpuService.Tests.Robustness;

/// <summary>Issue 14 item 1: the service binds loopback unless told otherwise and, with a service token, accepts only
/// callers that send it (health stays open); outside Development it does not start without one.</summary>
public class ServiceAuthTests
{
    [Fact]
    public async Task Without_the_token_calls_are_unauthenticated_with_it_they_work_and_health_is_open()
    {
        const string token = "a-test-token-of-enough-length";
        await using var host = await ServiceHost.StartAsync(token: token);
        Assert.Equal(0, JobsOf(await host.Client.ListJobsAsync(new ListJobsRequest())));

        using var anonymous = GrpcChannel.ForAddress(host.Address);
        var bare = new TLoRAService.TLoRAServiceClient(anonymous);
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await bare.ListJobsAsync(new ListJobsRequest()));
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
        Assert.Contains(ServiceTokenInterceptor.Header, ex.Status.Detail);
        var wrong = await Assert.ThrowsAsync<RpcException>(async () =>
            await bare.ListJobsAsync(new ListJobsRequest(), new Metadata { { ServiceTokenInterceptor.Header, token + "x" } }));
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        using (var watch = bare.WatchJobs(new WatchJobsRequest()))
        {
            var s = await Assert.ThrowsAsync<RpcException>(async () => await watch.ResponseStream.MoveNext());
            Assert.Equal(StatusCode.Unauthenticated, s.StatusCode);
        }
        var health = await new Health.HealthClient(anonymous).CheckAsync(new HealthCheckRequest());
        Assert.NotEqual(HealthCheckResponse.Types.ServingStatus.Unknown, health.Status);
    }

    [Fact]
    public async Task It_listens_on_loopback_by_default()
    {
        await using var host = await ServiceHost.StartAsync();
        var bound = Assert.Single(GpuServiceHost.BoundAddresses(host.App.Services));
        Assert.StartsWith("http://127.0.0.1:", bound);
    }

    [Fact]
    public void Outside_development_it_refuses_to_start_without_a_token_and_says_what_to_set()
    {
        var o = new GpuServiceOptions();
        var ex = Assert.Throws<ArgumentException>(() => o.RequireToken(development: false));
        Assert.Contains("GpuService__ServiceToken", ex.Message);
        Assert.Contains("Gateway__ServiceToken", ex.Message);
        o.RequireToken(development: true);
        o.ServiceToken = "short";
        Assert.Contains("ServiceToken is too short", Assert.Throws<ArgumentException>(o.Validate).Message);
        o.ServiceToken = null;
        o.Bind = "not-an-address";
        Assert.Contains("GpuService:Bind", Assert.Throws<ArgumentException>(o.Validate).Message);
    }

    [Fact]
    public void The_serve_verb_without_a_token_in_production_exits_naming_the_setting()
    {
        var (code, output) = DescribeCommandTests.Run("serve", "--models", Engine.Tests.FixturePaths.Root, "--port", "0");
        Assert.Equal(1, code);
        Assert.Contains("GpuService:ServiceToken is not set", output.ReplaceLineEndings(""));
    }

    private static int JobsOf(ListJobsReply r) => r.Jobs.Count;
}
