using System.Net;
using System.Security.Claims;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TLoRA.WebUI.Auth;
using TLoRA.WebUI.Gateway;

namespace TLoRA.WebUI.Tests.Host;

/// <summary>Issue 14, "the WebUI signs users in (OIDC when configured) and calls the gateway on their behalf": the real
/// host (Production, no local admin) against <see cref="TestAuthority"/> and a <see cref="RecordingGateway"/> that shows
/// which credentials each call carried.</summary>
public sealed class OidcSignInTests : IAsyncLifetime
{
    private const string WebUiKey = "tlk_the-webui-key-for-its-local-admin";
    private TestAuthority authority = null!;
    private RecordingGateway gateway = null!;
    private TestHost host = null!;

    public async Task InitializeAsync()
    {
        authority = await TestAuthority.StartAsync();
        gateway = await RecordingGateway.StartAsync();
        host = await TestHost.StartWithoutAdminAsync(
            $"--WebUI:Gateway={gateway.Address}", $"--WebUI:GatewayApiKey={WebUiKey}",
            $"--WebUI:Oidc:Authority={authority.Issuer}", $"--WebUI:Oidc:ClientId={TestAuthority.ClientId}",
            $"--WebUI:Oidc:ClientSecret={TestAuthority.ClientSecret}", "--WebUI:Oidc:RequireHttpsMetadata=false",
            "--WebUI:Oidc:DisplayName=Test SSO");
    }

    public async Task DisposeAsync()
    {
        await host.DisposeAsync();
        await gateway.DisposeAsync();
        await authority.DisposeAsync();
    }

    private HttpClient NewBrowser() =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = host.Address };

    [Fact]
    public async Task Without_a_local_admin_the_login_page_offers_only_single_sign_on_and_forms_may_go_to_the_authority()
    {
        using var login = await host.Http.GetAsync("/login");
        var html = await login.Content.ReadAsStringAsync();
        Assert.Contains("id=\"login-sso\"", html);
        Assert.Contains("Sign in with Test SSO", html);
        Assert.DoesNotContain("id=\"login-form\"", html);
        // signing out redirects a form's submission to the authority: CSP form-action must allow it, and only it
        var csp = string.Join(";", login.Headers.GetValues("Content-Security-Policy"));
        Assert.Matches($"form-action 'self' {Regex.Escape(authority.Issuer)} *(;|$)", csp);
        using var root = await host.Http.GetAsync("/");
        Assert.Equal("/login?ReturnUrl=%2F", root.Headers.Location!.PathAndQuery);
    }

    [Fact]
    public async Task Each_person_signs_in_at_the_authority_and_the_gateway_sees_their_own_token_never_the_WebUI_key()
    {
        foreach (var person in new[] { "alice", "bob" })
        {
            using var browser = NewBrowser();
            using (var callback = await authority.SignInAsync(browser, person))
            {
                Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
                Assert.Equal("/train", callback.Headers.Location!.OriginalString);
                var cookie = callback.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(WebUiAuth.CookieName + "=", StringComparison.Ordinal));
                Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
                // the cookie holds who signed in, not the tokens (those stay on the server)
                Assert.True(cookie.Length < 2000, $"cookie of {cookie.Length} characters");
            }
            using (var page = await browser.GetAsync("/train"))
                Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            using (var image = await browser.GetAsync($"/api/images/{person}-x"))
            {
                Assert.Equal(HttpStatusCode.OK, image.StatusCode);
                Assert.Equal([1, 2, 3, 4], await image.Content.ReadAsByteArrayAsync());
            }
            var call = gateway.Last($"/api/images/{person}-x");
            Assert.Null(call.ApiKey);
            var token = await authority.ValidateAccessTokenAsync(call.Bearer!);
            Assert.Equal(person, token.Subject);
            Assert.Equal([TestAuthority.Audience], token.Audiences);
        }
    }

    [Fact]
    public async Task Tokens_are_refreshed_before_they_expire_with_the_rotated_refresh_token_and_a_refused_refresh_ends_the_session()
    {
        authority.AccessTokenLifetime = TimeSpan.FromSeconds(30); // inside the refresh margin: every call refreshes
        using var browser = NewBrowser();
        using (await authority.SignInAsync(browser, "alice")) { }
        for (var generation = 2; generation <= 3; generation++)
        {
            using var image = await browser.GetAsync($"/api/images/g{generation}");
            Assert.Equal(HttpStatusCode.OK, image.StatusCode);
            var token = await authority.ValidateAccessTokenAsync(gateway.Last($"/api/images/g{generation}").Bearer!);
            Assert.Equal(generation.ToString(System.Globalization.CultureInfo.InvariantCulture), token.GetClaim("gen").Value);
        }
        Assert.Equal(2, authority.Refreshes);

        authority.RefuseRefresh = true;
        using (var refused = await browser.GetAsync("/api/images/after"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Contains("sign-in has ended", await refused.Content.ReadAsStringAsync());
        }
        Assert.DoesNotContain(gateway.Calls, c => c.Path == "/api/images/after");
        // the session is over in every tab: pages go to /login
        using var root = await browser.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, root.StatusCode);
        Assert.StartsWith("/login", root.Headers.Location!.PathAndQuery);
    }

    [Fact]
    public async Task Signing_out_deletes_the_tokens_and_ends_the_session_at_the_authority()
    {
        using var browser = NewBrowser();
        using (await authority.SignInAsync(browser, "alice")) { }
        var page = await browser.GetStringAsync("/");
        var token = WebUtility.HtmlDecode(TestHost.TokenPattern().Match(page).Groups[1].Value);
        using var logout = await browser.PostAsync("/logout", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        var endSession = logout.Headers.Location!;
        Assert.StartsWith($"{authority.Issuer}/logout?", endSession.AbsoluteUri);

        // the authority ends its session (knowing which by the ID token) and sends the browser back, then to /login
        using var atAuthority = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var back = await atAuthority.GetAsync(endSession);
        Assert.Equal(authority.LastIdToken, authority.EndSessionHint);
        using var callback = await browser.GetAsync(back.Headers.Location);
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/login", callback.Headers.Location!.OriginalString);

        using var image = await browser.GetAsync("/api/images/after-logout");
        Assert.Equal(HttpStatusCode.Unauthorized, image.StatusCode);
        Assert.DoesNotContain(gateway.Calls, c => c.Path == "/api/images/after-logout");
    }

    [Fact]
    public async Task A_sign_in_refused_at_the_authority_returns_to_the_login_page_with_a_plain_message()
    {
        using var browser = NewBrowser();
        using var callback = await authority.SignInAsync(browser, "alice", error: "access_denied");
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal($"/login?{WebUiOidc.FailedQuery}=1", callback.Headers.Location!.OriginalString);
        var html = await browser.GetStringAsync(callback.Headers.Location);
        Assert.Contains("id=\"sso-error\"", html);
        Assert.Contains("Signing in with Test SSO did not complete", html);
        using var root = await browser.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, root.StatusCode);
    }

    [Fact]
    public async Task The_hub_connects_with_the_person_token_and_the_local_admin_with_the_WebUI_key()
    {
        var carol = authority.MintAccessToken("carol");
        await host.Services.GetRequiredService<SessionTokens>().SaveAsync("s-carol", new SessionToken(carol, null, DateTimeOffset.UtcNow.AddMinutes(10), null));
        var people = new (ClaimsPrincipal User, string Expected)[]
        {
            (Principal("carol", "s-carol", WebUiOidc.Scheme), carol),
            (Principal("admin", "s-admin", WebUiAuth.LocalSignIn), WebUiKey),
        };
        foreach (var (user, expected) in people)
        {
            await using var scope = host.Services.CreateAsyncScope();
            scope.ServiceProvider.GetRequiredService<GatewayCredentials>().RequestUser = user;
            var hub = scope.ServiceProvider.GetRequiredService<JobHub>();
            var before = gateway.Calls.Count;
            await hub.WatchAllAsync(_ => Task.CompletedTask, CancellationToken.None);
            var connects = gateway.Calls.Skip(before).Where(c => c.Path.StartsWith("/hubs/jobs", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(connects);
            Assert.All(connects, c => Assert.Equal(expected, c.Bearer));
        }
    }

    private static ClaimsPrincipal Principal(string name, string session, string method) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, name), new Claim(WebUiOidc.SubjectClaim, name),
            new Claim(WebUiAuth.SessionClaim, session), new Claim(WebUiOidc.SignInMethodClaim, method)], CookieAuthenticationDefaults.AuthenticationScheme));

    [Theory]
    [InlineData("http://login.example.com", "", "must be an absolute https:// address")]
    [InlineData("https://login.example.com", "--WebUI:Oidc:ClientId=", "WebUI:Oidc:ClientId must name")]
    [InlineData("https://login.example.com", "--WebUI:Oidc:Scopes=profile jobs:read", "must include openid")]
    public async Task Settings_that_cannot_work_refuse_to_start_naming_the_setting(string authorityUrl, string setting, string message)
    {
        string[] args = ["--urls", "http://127.0.0.1:0", "--WebUI:Gateway=http://127.0.0.1:9", "--environment", "Production",
            $"--WebUI:Oidc:Authority={authorityUrl}", "--WebUI:Oidc:ClientId=webui"];
        var e = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = WebUiHost.Build(setting.Length > 0 ? [.. args, setting] : args);
            await app.StartAsync();
        });
        Assert.Contains(message, e.Message);
    }
}
