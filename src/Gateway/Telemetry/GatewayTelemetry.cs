using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using StackExchange.Redis;

namespace TLoRA.Gateway.Telemetry;

/// <summary>
/// OpenTelemetry for the gateway: its own metrics (<see cref="GatewayMetrics"/>), ASP.NET Core's and the HttpClient's,
/// for Prometheus at /metrics; traces of each request through the gRPC client calls to the GPU services (which
/// continue them: W3C traceparent), exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set. And the hub's Redis
/// backplane when Gateway:Redis names one (several replicas).
/// </summary>
public static class GatewayTelemetry
{
    public static void AddGatewayTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<GatewayMetrics>();
        var otlp = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? "tlora-gateway"))
            .WithMetrics(m => m.AddMeter(GatewayMetrics.MeterName).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation()
                .AddPrometheusExporter())
            .WithTracing(t =>
            {
                t.AddAspNetCoreInstrumentation(o => o.Filter = c => !c.Request.Path.StartsWithSegments("/metrics"))
                    .AddGrpcClientInstrumentation().AddHttpClientInstrumentation();
                if (otlp) t.AddOtlpExporter();
            });
    }

    /// <summary>SignalR, with the Redis backplane when <paramref name="options"/> names a Redis.</summary>
    public static void AddHub(this WebApplicationBuilder builder, GatewayOptions options)
    {
        var signalR = builder.Services.AddSignalR();
        if (string.IsNullOrWhiteSpace(options.Redis)) return;
        signalR.AddStackExchangeRedis(options.Redis, o => o.Configuration.ChannelPrefix = RedisChannel.Literal(options.RedisChannelPrefix));
    }

    public static void MapMetrics(this WebApplication app) => app.MapPrometheusScrapingEndpoint();
}
