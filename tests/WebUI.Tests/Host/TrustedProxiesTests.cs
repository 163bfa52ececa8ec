using System.Net;
using TLoRA.Gateway.Security;
using TLoRA.WebUI.Auth;

namespace TLoRA.WebUI.Tests.Host;

/// <summary>Behind the chart's Ingress the WebUI sees the Ingress's address and plain http. With WebUI:TrustedProxies
/// naming it, the client's own address (X-Forwarded-For) gets the sign-in rate limit and https (X-Forwarded-Proto)
/// makes the cookie Secure; without it, those headers change nothing.</summary>
public sealed class TrustedProxiesTests
{
    private const string Trusted = "--WebUI:TrustedProxies:0=127.0.0.0/8"; // the tests' client is the proxy

    [Fact]
    public async Task Behind_a_trusted_proxy_each_client_has_its_own_sign_in_limit()
    {
        await using var host = await TestHost.StartAsync(Trusted);
        var token = await host.LoginTokenAsync();
        From(host, "203.0.113.7");
        for (var i = 0; i < 5; i++)
        {
            using var attempt = await host.PostLoginAsync(TestHost.User, "guess " + i, token: token);
            Assert.Equal(HttpStatusCode.OK, attempt.StatusCode);
        }
        using (var limited = await host.PostLoginAsync(TestHost.User, "guess 5", token: token))
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        From(host, "198.51.100.20"); // another person behind the same proxy is not locked out
        using var other = await host.PostLoginAsync(TestHost.User, TestHost.Password, token: token);
        Assert.Equal(HttpStatusCode.Redirect, other.StatusCode);
    }

    [Fact]
    public async Task Without_trusted_proxies_a_client_cannot_choose_the_address_it_is_limited_by()
    {
        await using var host = await TestHost.StartAsync();
        var token = await host.LoginTokenAsync();
        for (var i = 0; i < 5; i++)
        {
            From(host, $"203.0.113.{i + 1}");
            using var attempt = await host.PostLoginAsync(TestHost.User, "guess " + i, token: token);
            Assert.Equal(HttpStatusCode.OK, attempt.StatusCode);
        }
        From(host, "203.0.113.99");
        using var limited = await host.PostLoginAsync(TestHost.User, TestHost.Password, token: token);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public async Task Https_at_a_trusted_proxy_makes_the_sign_in_cookie_secure(bool trusted, bool secure)
    {
        await using var host = await (trusted ? TestHost.StartAsync(Trusted) : TestHost.StartAsync());
        var token = await host.LoginTokenAsync();
        host.Http.DefaultRequestHeaders.Add("X-Forwarded-Proto", "https");
        using var response = await host.PostLoginAsync(TestHost.User, TestHost.Password, token: token);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith(WebUiAuth.CookieName + "=", StringComparison.Ordinal));
        Assert.Equal(secure, cookie.Contains("secure", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("10.0.0.0/8", true)]
    [InlineData("fd00::/8", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("10.0.0.0/33", false)]
    [InlineData("ingress-nginx", false)]
    public void Entries_are_addresses_or_networks_and_a_bad_one_is_named(string entry, bool valid)
    {
        Assert.Equal(valid, TrustedProxies.TryParse([entry], "WebUI:TrustedProxies", out var networks, out var error));
        if (valid) Assert.Single(networks);
        else Assert.Contains($"'{entry}'", error);
    }

    [Fact]
    public void A_host_with_a_bad_entry_refuses_to_start_naming_it()
    {
        var e = Assert.Throws<InvalidOperationException>(() => WebUiHost.Build(["--urls", "http://127.0.0.1:0",
            "--WebUI:Gateway=http://127.0.0.1:9", "--environment", "Production", "--WebUI:TrustedProxies:0=the-ingress"]));
        Assert.Contains("WebUI:TrustedProxies", e.Message);
        Assert.Contains("'the-ingress'", e.Message);
    }

    private static void From(TestHost host, string client)
    {
        host.Http.DefaultRequestHeaders.Remove("X-Forwarded-For");
        host.Http.DefaultRequestHeaders.Add("X-Forwarded-For", client);
    }
}
