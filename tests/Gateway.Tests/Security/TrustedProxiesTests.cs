using System.Net;
using Microsoft.Extensions.Options;

namespace TLoRA.Gateway.Tests.Security;

/// <summary>Behind the chart's Ingress every caller has the controller's address. With Gateway:TrustedProxies naming
/// it, an unauthenticated caller's rate limit is its own (X-Forwarded-For); without, that header changes nothing, so
/// no caller can pick the bucket it spends.</summary>
public sealed class TrustedProxiesTests
{
    private static readonly Dictionary<string, string?> Tight = new() { ["Gateway:Limits:RequestsPerSecond"] = "1", ["Gateway:Limits:RequestBurst"] = "3" };

    /// <summary>One caller spends its unauthenticated budget; another behind the same proxy is then refused for
    /// lacking a credential (401) when the proxy is trusted, and by the same spent bucket (429) when it is not.</summary>
    [Theory]
    [InlineData(true, HttpStatusCode.Unauthorized)]
    [InlineData(false, HttpStatusCode.TooManyRequests)]
    public async Task Unauthenticated_callers_are_limited_by_their_own_address_only_behind_a_trusted_proxy(bool trusted, HttpStatusCode another)
    {
        var settings = new Dictionary<string, string?>(Tight);
        if (trusted) settings["Gateway:TrustedProxies:0"] = "127.0.0.0/8"; // the test is the proxy
        var (app, address) = await EdgeGateway.StartAsync(settings);
        await using var _ = app;
        using var http = new HttpClient { BaseAddress = address };
        Assert.Equal(HttpStatusCode.TooManyRequests, await UntilLimitedAsync(http, "203.0.113.7"));
        Assert.Equal(another, await StatusAsync(http, "198.51.100.20"));
    }

    [Fact]
    public async Task A_gateway_with_a_bad_entry_refuses_to_start_naming_it()
    {
        await using var app = EdgeGateway.Build(new() { ["Gateway:TrustedProxies:0"] = "ingress-nginx" });
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("Gateway:TrustedProxies: 'ingress-nginx'", e.Message);
    }

    /// <summary>Unauthenticated requests as <paramref name="client"/> until one is refused by the limit (at most 20).</summary>
    private static async Task<HttpStatusCode> UntilLimitedAsync(HttpClient http, string client)
    {
        var status = HttpStatusCode.OK;
        for (var i = 0; i < 20 && status != HttpStatusCode.TooManyRequests; i++) status = await StatusAsync(http, client);
        return status;
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient http, string client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/models");
        request.Headers.Add("X-Forwarded-For", client);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }
}
