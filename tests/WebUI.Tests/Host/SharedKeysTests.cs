using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using TLoRA.WebUI.Auth;

namespace TLoRA.WebUI.Tests.Host;

/// <summary>Replicas behind one Ingress (the chart runs two WebUI pods when Redis is configured): a sign-in made on one
/// is valid on the other, because both keep their data-protection keys in the same Redis (WebUI:DataProtectionRedis).
/// Without shared keys the other replica cannot read the cookie and sends the browser to /login. A sign-out on one
/// replica is known to the others (a copied cookie is refused everywhere).</summary>
public sealed class SharedKeysTests
{
    [Fact]
    public async Task A_sign_in_on_one_replica_is_valid_on_another_that_shares_the_Redis_keys()
    {
        var port = EndToEnd.Stack.FreePort();
        using var redis = StartRedis(port);
        var shared = $"--WebUI:DataProtectionRedis=127.0.0.1:{port},abortConnect=false";
        var key = $"--WebUI:DataProtectionRedisKey=test-{Guid.NewGuid():N}";
        await using var a = await TestHost.StartAsync(shared, key);
        await using var b = await TestHost.StartAsync(shared, key);
        await using var alone = await TestHost.StartAsync();

        using (var signIn = await a.PostLoginAsync(TestHost.User, TestHost.Password)) Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        var cookie = a.Cookies.GetCookies(a.Address)[WebUiAuth.CookieName]!.Value;
        Assert.Equal(HttpStatusCode.OK, await b.StatusWithCookieAsync(cookie));
        Assert.Equal(HttpStatusCode.Redirect, await alone.StatusWithCookieAsync(cookie));

        // signed out on A: a copy of the cookie is refused by B too
        var token = TestHost.TokenPattern().Match(await a.Http.GetStringAsync("/"));
        Assert.True(token.Success, "no antiforgery token in the page for the sign-out form");
        using (var signOut = await a.Http.PostAsync("/logout", new FormUrlEncodedContent(new Dictionary<string, string>
                   { ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value) })))
            Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, await b.StatusWithCookieAsync(cookie));
    }

    [Fact]
    public async Task Replicas_share_OIDC_session_tokens_sealed_in_Redis_so_a_refresh_or_sign_out_on_one_holds_on_all()
    {
        var port = EndToEnd.Stack.FreePort();
        using var redis = StartRedis(port);
        var connection = $"127.0.0.1:{port},abortConnect=false";
        var prefix = $"test-{Guid.NewGuid():N}";
        await using var a = await TestHost.StartAsync($"--WebUI:DataProtectionRedis={connection}", $"--WebUI:DataProtectionRedisKey={prefix}");
        await using var b = await TestHost.StartAsync($"--WebUI:DataProtectionRedis={connection}", $"--WebUI:DataProtectionRedisKey={prefix}");
        var onA = a.Services.GetRequiredService<SessionTokens>();
        var onB = b.Services.GetRequiredService<SessionTokens>();
        var token = new SessionToken("access-" + Guid.NewGuid().ToString("N"), "refresh-1", DateTimeOffset.UtcNow.AddMinutes(5), "id-1");

        await onA.SaveAsync("session-1", token);
        Assert.Equal(token, await onB.GetAsync("session-1"));
        // at rest the tokens are encrypted with the shared data-protection keys, and expire with the session
        using (var client = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(connection))
        {
            var db = client.GetDatabase();
            var key = $"{prefix}-tokens:session-1";
            var raw = (byte[])(await db.StringGetAsync(key))!;
            Assert.DoesNotContain(token.AccessToken, System.Text.Encoding.UTF8.GetString(raw), StringComparison.Ordinal);
            var ttl = await db.KeyTimeToLiveAsync(key);
            Assert.InRange(ttl!.Value, WebUiAuth.SessionLifetime - TimeSpan.FromMinutes(1), WebUiAuth.SessionLifetime);
        }
        // a refresh on B (rotated refresh token) is what A uses next; a sign-out on A leaves B nothing
        var refreshed = token with { AccessToken = "access-2", RefreshToken = "refresh-2" };
        await onB.SaveAsync("session-1", refreshed);
        Assert.Equal(refreshed, await onA.GetAsync("session-1"));
        await onA.RemoveAsync("session-1");
        Assert.Null(await onB.GetAsync("session-1"));
    }

    [Fact]
    public async Task Two_replicas_refreshing_one_session_at_once_make_one_refresh_and_both_use_its_token()
    {
        var port = EndToEnd.Stack.FreePort();
        using var redis = StartRedis(port);
        await using var authority = await TestAuthority.StartAsync();
        authority.RefreshDelay = TimeSpan.FromMilliseconds(400); // the second replica asks while the first refresh runs
        string[] settings = [$"--WebUI:DataProtectionRedis=127.0.0.1:{port},abortConnect=false", $"--WebUI:DataProtectionRedisKey=test-{Guid.NewGuid():N}",
            $"--WebUI:Oidc:Authority={authority.Issuer}", $"--WebUI:Oidc:ClientId={TestAuthority.ClientId}",
            $"--WebUI:Oidc:ClientSecret={TestAuthority.ClientSecret}", "--WebUI:Oidc:RequireHttpsMetadata=false"];
        await using var a = await TestHost.StartWithoutAdminAsync(settings);
        await using var b = await TestHost.StartWithoutAdminAsync(settings);
        // a session whose access token expires inside the refresh margin, with a refresh token the authority rotates
        await a.Services.GetRequiredService<SessionTokens>().SaveAsync("session-1", new SessionToken(authority.MintAccessToken("alice"),
            authority.IssueRefreshToken("alice"), DateTimeOffset.UtcNow + AccessTokens.RefreshAhead / 2, null));

        var tokens = await Task.WhenAll(a.Services.GetRequiredService<AccessTokens>().GetAsync("session-1", default),
            b.Services.GetRequiredService<AccessTokens>().GetAsync("session-1", default));

        Assert.Equal(1, authority.Refreshes);
        Assert.All(tokens, Assert.NotNull);
        Assert.Equal(tokens[0], tokens[1]); // the one refresh's token, on both
        Assert.Equal(2, (await authority.ValidateAccessTokenAsync(tokens[0]!)).GetPayloadValue<int>("gen"));
        Assert.False(await b.Services.GetRequiredService<SignedOutSessions>().IsSignedOutAsync("session-1"));
    }

    [Fact]
    public async Task Two_homes_for_the_keys_are_refused_naming_both_settings()
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => TestHost.StartAsync("--WebUI:DataProtectionRedis=127.0.0.1:1",
            $"--WebUI:DataProtectionPath={Path.GetTempPath()}"));
        Assert.Contains("WebUI:DataProtectionPath", e.Message, StringComparison.Ordinal);
        Assert.Contains("WebUI:DataProtectionRedis", e.Message, StringComparison.Ordinal);
    }


    /// <summary>Debian's redis-server (bash .ci/setup installs it) on <paramref name="port"/>, without persistence.</summary>
    private static RedisServer StartRedis(int port)
    {
        var server = new[] { "/usr/bin/redis-server", "/usr/sbin/redis-server" }.FirstOrDefault(File.Exists)
                     ?? throw new Xunit.Sdk.XunitException("redis-server is not installed: run bash .ci/setup (Debian's redis-server)");
        var process = Process.Start(new ProcessStartInfo(server, ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", ""])
            { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, port);
                return new RedisServer(process);
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
        }
    }

    private sealed class RedisServer(Process process) : IDisposable
    {
        public void Dispose()
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
            process.Dispose();
        }
    }

}
