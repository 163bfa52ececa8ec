using Microsoft.Extensions.Options;
using MudBlazor.Services;
using TLoRA.Gateway.Security;
using TLoRA.WebUI.Auth;
using TLoRA.WebUI.Gateway;

namespace TLoRA.WebUI;

/// <summary>Where the gateway is: the only service the WebUI talks to (REST under /api, the hub at /hubs/jobs).</summary>
public sealed class WebUiOptions
{
    public const string Section = "WebUI";

    /// <summary>The gateway's base address, e.g. http://127.0.0.1:5080.</summary>
    public Uri? Gateway { get; set; }

    /// <summary>The API key the WebUI calls the gateway with for its local admin (WebUI:Admin) and Development's anonymous
    /// user (sent as X-Api-Key, and as the hub's access token): the gateway sees the key's owner. People signed in with
    /// OIDC (WebUI:Oidc) call with their own access tokens instead. Null: none, which only a gateway in Development with
    /// Gateway:Auth:DevelopmentAnonymous accepts.</summary>
    public string? GatewayApiKey { get; set; }

    /// <summary>The largest concept image the form accepts; the gateway's own limit (Gateway:MaxUploadBytes) by default.</summary>
    public long MaxUploadBytes { get; set; } = 20 * 1024 * 1024;

    /// <summary>Proxies in front of this host (the Ingress controller's pods: addresses or CIDR networks, e.g. 10.0.0.0/8)
    /// whose X-Forwarded-For and X-Forwarded-Proto are believed (see <see cref="TLoRA.Gateway.Security.TrustedProxies"/>). Empty:
    /// the headers are ignored.</summary>
    public string[] TrustedProxies { get; set; } = [];
}

/// <summary>
/// Builds the WebUI: a Blazor Web App (interactive server) with MudBlazor. Jobs, models and adapters come from the
/// gateway over REST (<see cref="GatewayClient"/>), live events over its hub (<see cref="JobHub"/>, one connection per
/// circuit). Images and adapters are streamed through from the gateway so the browser talks to this host only.
/// </summary>
public static class WebUiHost
{
    /// <summary>The header the gateway reads an API key from.</summary>
    public const string ApiKeyHeader = "X-Api-Key";

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
            ApplicationName = typeof(WebUiHost).Assembly.GetName().Name,
        });
        // Outside a publish folder the framework's and MudBlazor's files (_framework/blazor.web.js, _content/MudBlazor)
        // are found through the build's static web assets manifest, in every environment.
        builder.WebHost.UseStaticWebAssets();
        builder.Services.AddOptions<WebUiOptions>().Bind(builder.Configuration.GetSection(WebUiOptions.Section))
            .Validate(o => o.Gateway is { IsAbsoluteUri: true }, "WebUI:Gateway must be the gateway's absolute address, e.g. http://127.0.0.1:5080")
            .ValidateOnStart();
        builder.Services.AddHttpClient<GatewayClient>((sp, http) =>
        {
            var options = sp.GetRequiredService<IOptions<WebUiOptions>>().Value;
            http.BaseAddress = options.Gateway;
            http.Timeout = TimeSpan.FromMinutes(2);
        });
        builder.Services.AddScoped<GatewayCredentials>();
        builder.Services.AddScoped<JobHub>();
        builder.AddWebUiAuth();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddScoped<Microsoft.AspNetCore.Components.Server.Circuits.CircuitHandler, CircuitLog>();
        // after the framework's own: an open tab re-checks its sign-in (a session signed out elsewhere ends there too)
        builder.Services.AddScoped<Microsoft.AspNetCore.Components.Authorization.AuthenticationStateProvider, Auth.SessionRevalidation>();
        builder.Services.AddMudServices();

        var app = builder.Build();
        // first: everything after it (cookies' Secure flag, OIDC redirect URIs, the sign-in rate limit) sees the client
        app.UseTrustedProxies(
            app.Configuration.GetSection(WebUiOptions.Section).Get<WebUiOptions>()?.TrustedProxies ?? [], $"{WebUiOptions.Section}:TrustedProxies");
        app.UseSecurityHeaders(WebUiOidc.AuthorityOrigin(app.Services.GetRequiredService<IOptions<OidcOptions>>().Value));
        app.UseStatusCodePages();
        // every endpoint requires the signed-in admin (fallback policy) except those marked anonymous below and /login
        app.UseWebUiAuth();
        GatewayCredentials.UseGatewayCredentials(app);
        app.UseAntiforgery();
        app.MapStaticAssets().AllowAnonymous();
        app.MapGatewayFiles();
        app.MapGet("/health", () => Results.Ok(new { status = "healthy" })).AllowAnonymous();
        app.MapLogout();
        app.MapOidcLogin();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
