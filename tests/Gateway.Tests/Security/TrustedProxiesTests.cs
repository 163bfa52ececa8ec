using System.Net;
using Microsoft.Extensions.Options;

namespace TLoRA.Gateway.Tests.Security;

/// <summary>Behind the chart's Ingress every caller has the controller's address. With Gateway:TrustedProxies naming
/// it, an unauthenticated caller's rate limit is its own (X-Forwarded-For); without, that header changes nothing, so
/// no caller can pick the bucket it spends.</summary>
public sealed class TrustedProxiesTests
{
    private static readonly Dictionary<string, string?> Tight = new() { ["Gateway:Limits:RequestsPerSecond"] = "1", ["Gateway:Limits:RequestBurst"] = "3" };

    [Fact]
    public async Task Behind_a_trusted_proxy_each_unauthenticated_caller_has_its_own_limit()
    {
        var (app, address) = await EdgeGateway.StartAsync(new(Tight) { ["Gateway:TrustedProxies:0"] = "127.0.0.0/8" }); // the test is the proxy
        await using var _ = app;
        using var http = new HttpClient { BaseAddress = address };
        Assert.Equal(HttpStatusCode.TooManyRequests, await UntilLimitedAsync(http, "203.0.113.7"));
        // another person behind the same Ingress is not limited by the first one's requests
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(http, "198.51.100.20"));
    }

    [Fact]
    public async Task Without_trusted_proxies_a_caller_cannot_choose_the_address_it_is_limited_by()
    {
        var (app, address) = await EdgeGateway.StartAsync(new(Tight));
        await using var _ = app;
        using var http = new HttpClient { BaseAddress = address };
        Assert.Equal(HttpStatusCode.TooManyRequests, await UntilLimitedAsync(http, "203.0.113.7"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await StatusAsync(http, "198.51.100.20"));
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
