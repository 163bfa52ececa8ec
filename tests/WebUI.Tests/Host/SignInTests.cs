using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TLoRA.WebUI.Auth;

namespace TLoRA.WebUI.Tests.Host;

/// <summary>Issue 14, "the WebUI signs users in": the real host (Production) lets nobody in before the admin signs in
/// on /login, except to /login, /health and the static assets; /api answers 401; the form needs its antiforgery token,
/// sends the browser only to a local ReturnUrl, is rate limited; a signed-out cookie opens nothing.</summary>
public sealed class SignInTests
{
    [Fact]
    public async Task Production_without_a_password_hash_refuses_to_start_naming_the_setting_and_the_command()
    {
        await using var app = WebUiHost.Build(["--urls", "http://127.0.0.1:0", "--WebUI:Gateway=http://127.0.0.1:9", "--environment", "Production"]);
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("WebUI:Admin:PasswordHash", e.Message);
        Assert.Contains("hash-password", e.Message);
    }

    [Theory]
    [InlineData("Production", "--WebUI:Admin:PasswordHash=plain-password", "malformed")]
    [InlineData("Production", "--WebUI:Auth:DevelopmentAnonymous=true", "only allowed in the Development environment")]
    [InlineData("Staging", "--WebUI:Auth:DevelopmentAnonymous=true", "WebUI:Admin:PasswordHash is not set")]
    public async Task A_malformed_hash_or_anonymous_outside_development_refuses_to_start(string environment, string setting, string message)
    {
        await using var app = WebUiHost.Build(["--urls", "http://127.0.0.1:0", "--WebUI:Gateway=http://127.0.0.1:9", "--environment", environment, setting]);
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public async Task Development_with_DevelopmentAnonymous_starts_without_a_hash_and_opens_pages()
    {
        await using var app = WebUiHost.Build(["--urls", "http://127.0.0.1:0", "--WebUI:Gateway=http://127.0.0.1:9", "--environment", "Development",
            "--WebUI:Auth:DevelopmentAnonymous=true"]);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(address) };
        using var response = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await app.StopAsync();
    }

    [Fact]
    public async Task Pages_redirect_to_login_and_the_api_answers_401_before_signing_in()
    {
        await using var host = await TestHost.StartAsync();
        using (var root = await host.Http.GetAsync("/"))
        {
            Assert.Equal(HttpStatusCode.Redirect, root.StatusCode);
            Assert.Equal("/login?ReturnUrl=%2F", root.Headers.Location!.PathAndQuery);
        }
        using (var jobs = await host.Http.GetAsync("/jobs/abc?x=1"))
            Assert.Equal("/login?ReturnUrl=%2Fjobs%2Fabc%3Fx%3D1", jobs.Headers.Location!.PathAndQuery);
        foreach (var api in new[] { "/api/images/x", "/api/adapters/x" })
        {
            using var response = await host.Http.GetAsync(api);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Null(response.Headers.Location);
        }
        // the Blazor hub: no circuit without a sign-in
        using (var negotiate = await host.Http.PostAsync("/_blazor/negotiate?negotiateVersion=1", null))
            Assert.Equal(HttpStatusCode.Unauthorized, negotiate.StatusCode);
    }

    [Fact]
    public async Task Login_health_and_static_assets_stay_reachable_without_signing_in()
    {
        await using var host = await TestHost.StartAsync();
        foreach (var path in new[] { "/login", "/health", "/favicon.svg", "/_framework/blazor.web.js", "/_content/MudBlazor/MudBlazor.min.css", "/app.css" })
        {
            using var response = await host.Http.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode}");
        }
        var login = await host.Http.GetStringAsync("/login");
        Assert.Contains("<label for=\"login-user\"", login);
        Assert.Contains("<label for=\"login-password\"", login);
        Assert.Matches(TestHost.TokenPattern(), login);
        // static: no interactive circuit is started for the sign-in page
        Assert.DoesNotContain("<!--Blazor:{\"type\":\"server\"", login);
    }

    [Fact]
    public async Task A_login_post_without_its_antiforgery_token_is_refused()
    {
        await using var host = await TestHost.StartAsync();
        using var response = await host.PostLoginAsync(TestHost.User, TestHost.Password, withToken: false);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(host.HasAuthCookie);
    }

    [Theory]
    [InlineData(TestHost.User, "wrong password")]
    [InlineData("root", TestHost.Password)]
    public async Task Wrong_credentials_show_one_message_and_set_no_cookie(string user, string password)
    {
        await using var host = await TestHost.StartAsync();
        using var response = await host.PostLoginAsync(user, password);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Wrong user name or password.", await response.Content.ReadAsStringAsync());
        Assert.DoesNotContain(response.Headers.TryGetValues("Set-Cookie", out var set) ? set : [], c => c.StartsWith(WebUiAuth.CookieName, StringComparison.Ordinal));
        Assert.False(host.HasAuthCookie);
        using var root = await host.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, root.StatusCode);
    }

    [Fact]
    public async Task The_right_password_sets_an_httponly_lax_cookie_and_returns_to_the_local_page()
    {
        await using var host = await TestHost.StartAsync();
        using var response = await host.PostLoginAsync(TestHost.User, TestHost.Password, returnUrl: "/jobs/abc");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(new Uri(host.Address, "/jobs/abc"), new Uri(host.Address, response.Headers.Location!));
        var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith(WebUiAuth.CookieName + "=", StringComparison.Ordinal)).ToLowerInvariant();
        Assert.Contains("httponly", cookie);
        Assert.Contains("samesite=lax", cookie);
        Assert.True(host.HasAuthCookie);
        using var root = await host.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, root.StatusCode);
        using var api = await host.Http.GetAsync("/api/images/x");
        Assert.NotEqual(HttpStatusCode.Unauthorized, api.StatusCode);
    }

    [Theory]
    [InlineData("//evil.example")]
    [InlineData("/\\evil.example")]
    [InlineData("https://evil.example/")]
    [InlineData("evil")]
    public async Task A_return_url_to_another_host_goes_to_the_root_instead(string returnUrl)
    {
        await using var host = await TestHost.StartAsync();
        using var response = await host.PostLoginAsync(TestHost.User, TestHost.Password, returnUrl: returnUrl);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(new Uri(host.Address, "/"), new Uri(host.Address, response.Headers.Location!));
    }

    [Fact]
    public async Task After_signing_out_the_cookie_opens_nothing_even_when_replayed()
    {
        await using var host = await TestHost.StartAsync();
        using (await host.PostLoginAsync(TestHost.User, TestHost.Password)) { }
        var signedIn = host.Cookies.GetCookies(host.Address)[WebUiAuth.CookieName]!.Value;
        // the app's page carries the sign-out form with its token
        var page = await host.Http.GetStringAsync("/");
        Assert.Contains("id=\"logout-form\"", page);
        var token = WebUtility.HtmlDecode(TestHost.TokenPattern().Match(page).Groups[1].Value);

        using (var forged = await host.Http.PostAsync("/logout", new FormUrlEncodedContent(new Dictionary<string, string>())))
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        using (var logout = await host.Http.PostAsync("/logout", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token })))
        {
            Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
            Assert.Equal("/login", logout.Headers.Location!.OriginalString);
        }
        Assert.False(host.HasAuthCookie);
        using (var root = await host.Http.GetAsync("/"))
            Assert.Equal(HttpStatusCode.Redirect, root.StatusCode);

        // the old cookie, sent again by hand, is refused too
        using var replay = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = host.Address };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("Cookie", $"{WebUiAuth.CookieName}={signedIn}");
        using var replayed = await replay.SendAsync(request);
        Assert.Equal(HttpStatusCode.Redirect, replayed.StatusCode);
        Assert.StartsWith("/login", replayed.Headers.Location!.PathAndQuery);
    }

    [Fact]
    public async Task With_a_data_protection_path_a_sign_in_survives_a_restart_and_other_keys_refuse_it()
    {
        var keys = Directory.CreateTempSubdirectory("tlora-webui-keys-").FullName;
        try
        {
            string cookie;
            await using (var first = await TestHost.StartAsync($"--WebUI:DataProtectionPath={keys}"))
            {
                using (await first.PostLoginAsync(TestHost.User, TestHost.Password)) { }
                cookie = first.Cookies.GetCookies(first.Address)[WebUiAuth.CookieName]!.Value;
            }
            Assert.NotEmpty(Directory.GetFiles(keys, "*.xml"));
            await using (var again = await TestHost.StartAsync($"--WebUI:DataProtectionPath={keys}"))
                Assert.Equal(HttpStatusCode.OK, await again.StatusWithCookieAsync(cookie));
            // other keys (another folder): the cookie cannot be read, the browser signs in again
            var other = Directory.CreateTempSubdirectory("tlora-webui-keys-").FullName;
            await using (var elsewhere = await TestHost.StartAsync($"--WebUI:DataProtectionPath={other}"))
                Assert.Equal(HttpStatusCode.Redirect, await elsewhere.StatusWithCookieAsync(cookie));
            Directory.Delete(other, recursive: true);
        }
        finally
        {
            Directory.Delete(keys, recursive: true);
        }
    }


    [Fact]
    public async Task More_than_five_sign_in_attempts_a_minute_from_one_address_get_429()
    {
        await using var host = await TestHost.StartAsync();
        var token = await host.LoginTokenAsync();
        for (var i = 0; i < 5; i++)
        {
            using var attempt = await host.PostLoginAsync(TestHost.User, "guess " + i, token: token);
            Assert.Equal(HttpStatusCode.OK, attempt.StatusCode);
        }
        using var limited = await host.PostLoginAsync(TestHost.User, TestHost.Password, token: token);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Contains("Too many sign-in attempts", await limited.Content.ReadAsStringAsync());
        Assert.False(host.HasAuthCookie);
        // the form itself still loads
        using var form = await host.Http.GetAsync("/login");
        Assert.Equal(HttpStatusCode.OK, form.StatusCode);
    }
}
