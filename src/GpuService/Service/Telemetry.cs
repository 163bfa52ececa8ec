using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace TLoRA.GpuService.Service;

/// <summary>
/// OpenTelemetry for the GPU service: the service's own metrics (<see cref="ServiceMetrics"/>) and ASP.NET Core's
/// (gRPC server calls) for Prometheus at /metrics on GpuService:MetricsPort (HTTP/1.1; the gRPC port speaks only
/// HTTP/2); a server span per gRPC call that continues the caller's trace (the gateway sends W3C traceparent), sent to
/// the OTLP endpoint in OTEL_EXPORTER_OTLP_ENDPOINT when one is set.
/// </summary>
internal static class Telemetry
{
    public static void AddServiceTelemetry(this WebApplicationBuilder builder, GpuServiceOptions options, ServiceIdentity identity)
    {
        builder.Services.AddSingleton<ServiceMetrics>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ServiceMetrics>());
        var otlp = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? "tlora-gpu-service",
                serviceInstanceId: identity.Id))
            .WithMetrics(m =>
            {
                m.AddMeter(ServiceMetrics.MeterName).AddAspNetCoreInstrumentation();
                if (options.MetricsPort is not null) m.AddPrometheusExporter();
            })
            .WithTracing(t =>
            {
                t.AddAspNetCoreInstrumentation();
                if (otlp) t.AddOtlpExporter();
            });
    }

    /// <summary>Listens for scrapes on the metrics port (0: any free port).</summary>
    public static void ListenForMetrics(KestrelServerOptions kestrel, GpuServiceOptions options)
    {
        if (options.MetricsPort is { } port) kestrel.ListenAnyIP(port, l => l.Protocols = HttpProtocols.Http1);
    }

    public static void MapMetrics(this WebApplication app, GpuServiceOptions options)
    {
        if (options.MetricsPort is not null) app.MapPrometheusScrapingEndpoint();
    }
}
