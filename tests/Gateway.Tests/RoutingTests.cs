using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TLoRA.Contracts.V1;
using TLoRA.Gateway.Services;
using TLoRA.GpuService.Tests;

namespace TLoRA.Gateway.Tests;

/// <summary>Two GPU services behind gateways: a new job goes to the least-loaded one, and a gateway that never saw a
/// job finds its owner from the job's id. In the gateway collection so that its jobs do not run beside the others.</summary>
[Collection(GatewayCollection.Name)]
public sealed class RoutingTests
{
    [Fact]
    public async Task New_jobs_go_to_the_least_loaded_service_and_a_fresh_gateway_finds_each_owner()
    {
        await using var a = await ServiceHost.StartAsync(configure: o => o.ServiceId = "gpu-a");
        await using var b = await ServiceHost.StartAsync(configure: o => o.ServiceId = "gpu-b");
        var jobs = new List<JsonElement>();
        var (gateway, address) = await GatewayFixture.StartGatewayAsync(a.Address.ToString(), b.Address.ToString());
        await using (gateway)
        {
            using var http = GatewayFixture.Client(address);
            // each job keeps its service busy: the second must go to the other service, whose queue is empty
            for (var i = 0; i < 2; i++) jobs.Add(await SubmitAsync(http, steps: 2000));
            Assert.Equal(["gpu-a", "gpu-b"], jobs.Select(j => j.GetProperty("serviceId").GetString()).Order());
            Assert.All(jobs, j => Assert.StartsWith(j.GetProperty("serviceId").GetString() + ".train-", j.GetProperty("jobId").GetString()));
        }

        // a gateway started afresh, with the services listed the other way round, has learnt nothing yet
        var (fresh, freshAddress) = await GatewayFixture.StartGatewayAsync(b.Address.ToString(), a.Address.ToString());
        await using (fresh)
        {
            using var http = GatewayFixture.Client(freshAddress);
            foreach (var job in jobs)
            {
                var id = job.GetProperty("jobId").GetString()!;
                var read = await http.GetFromJsonAsync<JsonElement>($"/api/jobs/{id}");
                Assert.Equal(job.GetProperty("serviceId").GetString(), read.GetProperty("serviceId").GetString());
                using var cancel = await http.PostAsync($"/api/jobs/{id}/cancel", null);
                Assert.True(cancel.IsSuccessStatusCode, await cancel.Content.ReadAsStringAsync());
            }
            using (var unknown = await http.GetAsync("/api/jobs/gpu-c.train-000000000000"))
            {
                var problem = await ApiTests.AssertProblemAsync(unknown, HttpStatusCode.NotFound, null);
                Assert.Contains("gpu-c", problem.GetProperty("detail").GetString());
            }
            using (var missing = await http.GetAsync("/api/jobs/gpu-b.train-000000000000"))
                await ApiTests.AssertProblemAsync(missing, HttpStatusCode.NotFound, null);
            var health = await http.GetFromJsonAsync<JsonElement>("/health");
            Assert.Equal(["gpu-a", "gpu-b"], health.GetProperty("services").EnumerateArray().Select(s => s.GetProperty("serviceId").GetString()).Order());
        }
    }

    [Fact]
    public void Only_calls_that_read_are_retried()
    {
        var methods = TLoRAService.Descriptor.Methods.Select(m => m.Name).ToHashSet();
        Assert.All(GpuServiceClients.Idempotent, m => Assert.Contains(m, methods));
        foreach (var writes in new[] { "SubmitTrain", "SubmitSample", "Train", "Sample", "CancelJob", "ResumeJob" })
            Assert.DoesNotContain(writes, GpuServiceClients.Idempotent);
    }

    private static async Task<JsonElement> SubmitAsync(HttpClient http, int steps)
    {
        using var form = GatewayFixture.TinyForm(File.ReadAllBytes(Path.Combine(Engine.Tests.FixturePaths.Root, "concept", "toy-robot.jpg")), "r.jpg", steps);
        using var response = await http.PostAsync("/api/jobs", form);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
