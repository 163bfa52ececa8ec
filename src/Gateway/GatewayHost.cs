using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Radzen;
using TLoRA.Gateway.Api;
using TLoRA.Gateway.Hubs;
using TLoRA.Gateway.Security;
using TLoRA.Gateway.Services;
using TLoRA.Gateway.WebUI;
using TLoRA.WebUI;
using TLoRA.WebUI.Backend;
using TLoRA.WebUI.State;

namespace TLoRA.Gateway;

/// <summary>Builds the gateway: REST under /api, the SignalR hub at /hubs/jobs, /health, /openapi/v1.json, the
/// generated gRPC clients of the GPU services (one per configured service), the background health monitor and job
/// feed (one WatchJobs stream per service, relayed to the hub's "jobs:all"), and the WebUI (server-rendered Razor
/// components, live through the hub) at every other path.</summary>
public static class GatewayHost
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
            // fixed, so the static web assets manifests (TLoRA.Gateway.staticwebassets.*.json) are found when a test host runs it
            ApplicationName = typeof(GatewayHost).Assembly.GetName().Name,
        });
        configure?.Invoke(builder);
        builder.Services.AddOptions<GatewayOptions>().Bind(builder.Configuration.GetSection(GatewayOptions.Section)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();
        var gateway = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();
        // the addresses are checked at start (ValidateOnStart); only valid ones get a client
        gateway.Services = gateway.Services.Where(s => Uri.TryCreate(s, UriKind.Absolute, out _)).ToList();
        builder.Services.AddGpuServiceClients(gateway);
        var maxUpload = builder.Configuration.GetSection(GatewayOptions.Section).GetValue<long?>(nameof(GatewayOptions.MaxUploadBytes)) ?? new GatewayOptions().MaxUploadBytes;
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = maxUpload + 64 * 1024);
        builder.Services.Configure<FormOptions>(f => f.MultipartBodyLengthLimit = maxUpload);
        builder.Services.AddSingleton<GpuServicePool>();
        builder.Services.AddSingleton<ServiceRouter>();
        builder.Services.AddSingleton<GpuClient>();
        builder.Services.AddSingleton<HealthMonitor>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<HealthMonitor>());
        builder.Services.AddSingleton<JobWatchers>();
        builder.Services.AddSingleton<JobFeed>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<JobFeed>());
        builder.Services.AddHostedService<AllJobsRelay>();
        builder.AddGatewayAuth();
        builder.AddGatewayRateLimits();
        builder.AddGatewayCors(gateway.AllowedOrigins);
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddSignalR();
        // every problem+json names the request's correlation id; the details behind it are in the log under that id
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = c => c.ProblemDetails.Extensions["correlationId"] = c.HttpContext.TraceIdentifier);
        // the document names no server: it would echo whatever Host header the request carried
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Servers = [];
            return Task.CompletedTask;
        }));
        // The WebUI's static files (its CSS and script, Radzen's theme) come from the build's manifest when not published.
        builder.WebHost.UseStaticWebAssets();
        builder.Services.AddRazorComponents();
        builder.Services.AddRadzenComponents();
        builder.Services.AddSingleton<IJobBackend, GatewayBackend>();
        builder.Services.AddSingleton<JobHistory>();

        var app = builder.Build();
        GatewayAuth.LogAuthMode(app);
        app.UseSecurityHeaders();
        app.UseProblemErrors();
        app.UseStatusCodePages();
        app.UseCrossOriginRefusal(gateway.AllowedOrigins);
        app.UseCors();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.MapOpenApi();
        app.MapGatewayApi();
        app.MapHub<JobsHub>("/hubs/jobs").RequireRateLimiting(RateLimits.StreamsPolicy);
        app.UseAntiforgery();
        app.MapStaticAssets();
        // the in-process WebUI acts for its caller like the API does (until the WebUI signs users in on its own host)
        app.MapRazorComponents<App>().RequireAuthorization(Scopes.Read);
        app.MapUiFragments();
        return app;
    }
}
