using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using TLoRA.WebUI.Auth;

namespace TLoRA.WebUI.Tests.Host;

/// <summary>The real WebUI host (WebUiHost.Build) on a free loopback port in Production, with a known admin password,
/// and an HttpClient that keeps cookies and does not follow redirects (the tests look at each answer).</summary>
public sealed partial class TestHost : IAsyncDisposable
{
    public const string User = "admin";
    public const string Password = "correct horse battery staple";

    /// <summary>The hash of <see cref="Password"/>, with the fewest iterations accepted (fast tests).</summary>
    public static readonly string PasswordHash = AdminPassword.Hash(Password, AdminPassword.MinIterations);

    private readonly WebApplication app;

    public IServiceProvider Services => app.Services;

    public CookieContainer Cookies { get; } = new();
    public HttpClient Http { get; }
    public Uri Address { get; }

    private TestHost(WebApplication app, Uri address)
    {
        (this.app, Address) = (app, address);
        Http = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false }) { BaseAddress = address };
    }

    public static Task<TestHost> StartAsync(params string[] settings) => StartCoreAsync([$"--WebUI:Admin:PasswordHash={PasswordHash}", .. settings]);

    /// <summary>The host with no local admin (settings must configure another sign-in, e.g. WebUI:Oidc).</summary>
    public static Task<TestHost> StartWithoutAdminAsync(params string[] settings) => StartCoreAsync(settings);

    private static async Task<TestHost> StartCoreAsync(string[] settings)
    {
        var app = WebUiHost.Build(["--urls", "http://127.0.0.1:0", "--WebUI:Gateway=http://127.0.0.1:9", "--environment", "Production", .. settings]);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestHost(app, new Uri(address));
    }

    /// <summary>The login form's antiforgery token (GET /login also sets the antiforgery cookie).</summary>
    public async Task<string> LoginTokenAsync(string returnUrl = "/")
    {
        var html = await Http.GetStringAsync("/login?ReturnUrl=" + Uri.EscapeDataString(returnUrl));
        return TokenPattern().Match(html) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value) : throw new Xunit.Sdk.XunitException("no antiforgery token on /login:\n" + html);
    }

    /// <summary>POSTs the login form as a browser does.</summary>
    public async Task<HttpResponseMessage> PostLoginAsync(string user, string password, string returnUrl = "/", string? token = null, bool withToken = true)
    {
        var fields = new Dictionary<string, string> { ["_handler"] = "login", ["User"] = user, ["Password"] = password };
        if (withToken) fields["__RequestVerificationToken"] = token ?? await LoginTokenAsync(returnUrl);
        return await Http.PostAsync("/login?ReturnUrl=" + Uri.EscapeDataString(returnUrl), new FormUrlEncodedContent(fields));
    }

    /// <summary>GET / with only <paramref name="cookie"/> as the sign-in cookie (a copy of it, as another browser or
    /// replica would see it): 200 when it opens the app, 302 to /login when it does not.</summary>
    public async Task<HttpStatusCode> StatusWithCookieAsync(string cookie)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = Address };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("Cookie", $"{WebUiAuth.CookieName}={cookie}");
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    public bool HasAuthCookie => Cookies.GetCookies(Address).Any(c => c.Name == WebUiAuth.CookieName && !c.Expired && c.Value.Length > 0);

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    public static partial Regex TokenPattern();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
