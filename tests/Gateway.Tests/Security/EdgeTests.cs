using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.Options;
using TLoRA.Gateway.Security;

namespace TLoRA.Gateway.Tests.Security;

/// <summary>What the edge decides by itself: start-up without authentication, per-owner limits, security headers,
/// cross-origin state changes, the OpenAPI document's servers, API key minting.</summary>
public sealed class EdgeTests
{
    [Fact]
    public async Task Outside_Development_a_gateway_without_authentication_refuses_to_start_and_says_what_to_set()
    {
        await using var none = EdgeGateway.Build([]);
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => none.StartAsync());
        Assert.Contains("Gateway:Auth:Authority", e.Message, StringComparison.Ordinal);
        Assert.Contains("Gateway:Auth:ApiKeys", e.Message, StringComparison.Ordinal);

        await using var anonymous = EdgeGateway.Build(new() { ["Gateway:Auth:DevelopmentAnonymous"] = "true" });
        e = await Assert.ThrowsAsync<OptionsValidationException>(() => anonymous.StartAsync());
        Assert.Contains("only allowed in the Development environment", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Development_anonymous_keeps_the_one_command_local_start()
    {
        await using var app = EdgeGateway.Build(new() { ["Gateway:Auth:DevelopmentAnonymous"] = "true" }, "Development");
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        using var response = await http.GetAsync("/api/models");
        // authenticated as the local owner: the request reaches the (absent) GPU service
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        await app.StopAsync();
    }

    [Fact]
    public async Task Requests_over_the_owners_rate_are_429_naming_the_limit_with_Retry_After_and_other_owners_go_on()
    {
        var (app, address) = await EdgeGateway.StartAsync(new() { ["Gateway:Limits:RequestsPerSecond"] = "2", ["Gateway:Limits:RequestBurst"] = "3" });
        await using var _ = app;
        using var alice = GatewayFixture.Client(address, TestKeys.Alice);
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 10 && limited is null; i++)
        {
            var r = await alice.GetAsync("/api/models");
            statuses.Add(r.StatusCode);
            if (r.StatusCode == HttpStatusCode.TooManyRequests) limited = r;
            else r.Dispose();
        }
        Assert.NotNull(limited);
        using (limited)
        {
            Assert.Equal("application/problem+json", limited!.Content.Headers.ContentType?.MediaType);
            Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "Retry-After missing");
            var problem = await limited.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("Gateway:Limits:RequestsPerSecond", problem.GetProperty("limit").GetString());
            Assert.False(string.IsNullOrEmpty(problem.GetProperty("correlationId").GetString()));
        }
        using var bob = GatewayFixture.Client(address, TestKeys.Bob);
        using var other = await bob.GetAsync("/api/models");
        Assert.NotEqual(HttpStatusCode.TooManyRequests, other.StatusCode);
        using var health = await new HttpClient().GetAsync(new Uri(address, "/health"));
        Assert.NotEqual(HttpStatusCode.TooManyRequests, health.StatusCode);
    }

    [Fact]
    public async Task Hub_connections_over_the_owners_limit_are_429_and_the_hub_takes_the_key_as_access_token()
    {
        var (app, address) = await EdgeGateway.StartAsync(new() { ["Gateway:Limits:MaxStreams"] = "1" });
        await using var _ = app;
        var hub = new UriBuilder(address) { Scheme = "ws", Path = "/hubs/jobs", Query = "access_token=" + Uri.EscapeDataString(TestKeys.Alice) }.Uri;
        using var first = new ClientWebSocket();
        await first.ConnectAsync(hub, CancellationToken.None);
        Assert.Equal(WebSocketState.Open, first.State);

        using var second = new ClientWebSocket { Options = { CollectHttpResponseDetails = true } };
        await Assert.ThrowsAsync<WebSocketException>(() => second.ConnectAsync(hub, CancellationToken.None));
        Assert.Equal(HttpStatusCode.TooManyRequests, second.HttpStatusCode);
        Assert.Contains("Retry-After", second.HttpResponseHeaders!.Keys, StringComparer.OrdinalIgnoreCase);

        // another owner has streams of its own
        var bobs = new UriBuilder(hub) { Query = "access_token=" + Uri.EscapeDataString(TestKeys.Bob) }.Uri;
        using var bob = new ClientWebSocket();
        await bob.ConnectAsync(bobs, CancellationToken.None);
        Assert.Equal(WebSocketState.Open, bob.State);

        using var anonymous = new ClientWebSocket { Options = { CollectHttpResponseDetails = true } };
        await Assert.ThrowsAsync<WebSocketException>(() => anonymous.ConnectAsync(new UriBuilder(hub) { Query = "" }.Uri, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.HttpStatusCode);
    }

    [Theory]
    [InlineData("/api/models")]
    [InlineData("/health")]
    [InlineData("/api/jobs/nope")]
    public async Task Responses_carry_nosniff_no_framing_a_CSP_and_no_referrer(string path)
    {
        var (app, address) = await EdgeGateway.StartAsync();
        await using var _ = app;
        using var http = GatewayFixture.Client(address);
        using var response = await http.GetAsync(path);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("same-origin", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.NotEmpty(response.Headers.GetValues("X-Correlation-Id").Single());
    }

    [Fact]
    public async Task The_OpenAPI_document_does_not_reflect_the_Host_header()
    {
        var (app, address) = await EdgeGateway.StartAsync();
        await using var _ = app;
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(address, "/openapi/v1.json"));
        request.Headers.Host = "evil.example";
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("evil.example", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cross_origin_state_change_is_refused_and_an_allowed_origin_is_not()
    {
        var (app, address) = await EdgeGateway.StartAsync(new() { ["Gateway:AllowedOrigins:0"] = "https://ui.example" });
        await using var _ = app;
        using var http = GatewayFixture.Client(address);
        async Task<HttpResponseMessage> Cancel(string? origin, string? fetchSite = null)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/jobs/x.train-1/cancel");
            if (origin is not null) request.Headers.Add("Origin", origin);
            if (fetchSite is not null) request.Headers.Add("Sec-Fetch-Site", fetchSite);
            return await http.SendAsync(request);
        }
        using (var evil = await Cancel("http://evil.example"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, evil.StatusCode);
            Assert.Equal("application/problem+json", evil.Content.Headers.ContentType?.MediaType);
        }
        using (var form = await Cancel(null, "cross-site")) Assert.Equal(HttpStatusCode.Forbidden, form.StatusCode);
        using (var opaque = await Cancel("null", "cross-site")) Assert.Equal(HttpStatusCode.Forbidden, opaque.StatusCode);
        using (var own = await Cancel("null", "same-origin")) Assert.NotEqual(HttpStatusCode.Forbidden, own.StatusCode);
        using (var same = await Cancel(address.GetLeftPart(UriPartial.Authority))) Assert.NotEqual(HttpStatusCode.Forbidden, same.StatusCode);
        using (var allowed = await Cancel("https://ui.example")) Assert.NotEqual(HttpStatusCode.Forbidden, allowed.StatusCode);

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/jobs");
        preflight.Headers.Add("Origin", "https://ui.example");
        preflight.Headers.Add("Access-Control-Request-Method", "GET");
        using var answer = await new HttpClient { BaseAddress = address }.SendAsync(preflight);
        Assert.Equal("https://ui.example", answer.Headers.GetValues("Access-Control-Allow-Origin").Single());
        using var other = new HttpRequestMessage(HttpMethod.Options, "/api/jobs");
        other.Headers.Add("Origin", "http://evil.example");
        other.Headers.Add("Access-Control-Request-Method", "GET");
        using var none = await new HttpClient { BaseAddress = address }.SendAsync(other);
        Assert.False(none.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public void Mint_prints_a_key_and_the_hash_entry_that_accepts_it()
    {
        using var output = new StringWriter();
        Assert.Equal(0, ApiKeys.MintCommand(["--owner", "dana", "--scopes", "jobs:read"], output));
        var text = output.ToString();
        var key = text.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith(ApiKeys.Prefix, StringComparison.Ordinal));
        Assert.True(key.Length >= 40);
        var entry = JsonDocument.Parse(text.Split('\n').Single(l => l.StartsWith('{'))).RootElement;
        Assert.Equal(ApiKeys.Hash(key), entry.GetProperty("Hash").GetString());
        Assert.Equal("dana", entry.GetProperty("Owner").GetString());
        Assert.Equal("jobs:read", entry.GetProperty("Scopes").GetString());
        Assert.Equal(64, ApiKeys.MintCommand(["--owner", "dana", "--scopes", "root"], new StringWriter()));
    }
}
