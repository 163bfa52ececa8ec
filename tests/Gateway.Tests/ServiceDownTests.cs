using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace TLoRA.Gateway.Tests;

public sealed class ServiceDownTests
{
    [Fact]
    public async Task A_service_that_is_down_gives_503_naming_no_address()
    {
        var (app, address) = await GatewayFixture.StartGatewayAsync($"http://127.0.0.1:{GatewayFixture.FreePort()}");
        await using var _ = app;
        using var http = GatewayFixture.Client(address);
        using (var response = await http.GetAsync("/api/jobs"))
        {
            var problem = await ApiTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, null);
            // the caller learns that no service can answer, never where the services are (the log says)
            Assert.DoesNotContain("127.0.0.1", problem.GetProperty("detail").GetString());
            Assert.False(string.IsNullOrEmpty(problem.GetProperty("correlationId").GetString()));
        }
        using (var form = GatewayFixture.TinyForm([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0], "x.png"))
        using (var response = await http.PostAsync("/api/jobs", form))
            await ApiTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, null);

        using var health = await http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        var body = await health.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("unavailable", body.GetProperty("services")[0].GetProperty("status").GetString());
        Assert.Equal("service-1", body.GetProperty("services")[0].GetProperty("name").GetString());
        Assert.False(body.GetProperty("services")[0].TryGetProperty("error", out var error), error.ToString());
        Assert.DoesNotContain("127.0.0.1", body.GetRawText());
    }

    [Theory]
    [InlineData("")]
    [InlineData("ftp://127.0.0.1:1")]
    [InlineData("not a url")]
    public async Task A_bad_service_list_stops_the_gateway_at_start(string service)
    {
        string[] services = service.Length == 0 ? [] : [service];
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => GatewayFixture.StartGatewayAsync(services));
        Assert.Contains("Gateway:Services", e.Message);
    }

}
