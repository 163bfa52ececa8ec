using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using TLoRA.Gateway.Api;
using TLoRA.Gateway.Hubs;
using TLoRA.Gateway.Security;
using TLoRA.Gateway.Services;
using TLoRA.Gateway.Telemetry;

namespace TLoRA.Gateway;

/// <summary>Builds the gateway: REST under /api, the SignalR hub at /hubs/jobs, /health, /openapi/v1.json, the
/// generated gRPC clients of the GPU services (one per configured service), the background health monitor and job
/// feed (one WatchJobs stream per service, relayed to the hub's "jobs:all"), /metrics and traces
/// (<see cref="GatewayTelemetry"/>), and the hub's Redis backplane when Gateway:Redis is set. A pure API: the WebUI
/// (src/WebUI) is its own host and a client of this one.</summary>
public static class GatewayHost
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
            // fixed, so a test host that runs it finds the gateway's own configuration files
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
        builder.Services.AddSingleton<HubGroups>();
        builder.AddHub(gateway);
        builder.AddGatewayTelemetry();
        builder.AddGatewayAuth();
        builder.AddGatewayRateLimits();
        builder.AddGatewayCors(gateway.AllowedOrigins);
        // every problem+json names the request's correlation id; the details behind it are in the log under that id
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = c => c.ProblemDetails.Extensions["correlationId"] = c.HttpContext.TraceIdentifier);
        // the document names no server: it would echo whatever Host header the request carried
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Servers = [];
            return Task.CompletedTask;
        }));

        var app = builder.Build();
        GatewayAuth.LogAuthMode(app);
        // first: the rate limits (and the logs) must see the client's address, not the Ingress's; a bad entry is
        // reported by the options' validation at start
        if (TrustedProxies.TryParse(gateway.TrustedProxies, GatewayOptionsValidator.TrustedProxiesSetting, out _, out _))
            app.UseTrustedProxies(gateway.TrustedProxies, GatewayOptionsValidator.TrustedProxiesSetting);
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
        app.MapMetrics();
        return app;
    }
}
