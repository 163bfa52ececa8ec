using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TLoRA.Contracts.V1;
using TLoRA.GpuService.Jobs;

namespace TLoRA.GpuService.Service;

/// <summary>
/// Builds the GPU service host: options (section "GpuService", validated before anything starts), the job system,
/// the engine thread, and on Kestrel (HTTP/2 cleartext, keep-alive pings) tlora.v1.TLoRAService, grpc.health.v1
/// (readiness: engine thread, models folder, job store) and server reflection. Stopping marks a running job
/// interrupted after its current step.
/// </summary>
public static class GpuServiceHost
{
    public static WebApplication Build(string[] args, Action<GpuServiceOptions>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args });
        var options = new GpuServiceOptions();
        builder.Configuration.GetSection(GpuServiceOptions.Section).Bind(options);
        configure?.Invoke(options);
        options.Validate();
        options.RequireToken(builder.Environment.IsDevelopment());
        var identity = ServiceIdentity.Load(options.DataDirectory, options.ServiceId);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(identity);
        builder.Services.AddSingleton(new ServiceStart(DateTimeOffset.UtcNow));
        builder.Services.AddSingleton(new JobPaths(options.DataDirectory));
        builder.Services.AddSingleton(sp => new JobStore(sp.GetRequiredService<JobPaths>().Database));
        builder.Services.AddSingleton(sp => new JobEventBus(sp.GetRequiredService<JobStore>(), options.MaxWatcherBufferBytes));
        builder.Services.AddSingleton(new JobQueue(options.QueueCapacity));
        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.AddSingleton<JobManager>();
        builder.Services.AddSingleton(new StreamQuota(options.MaxStreamsPerOwner, $"{GpuServiceOptions.Section}:MaxStreamsPerOwner"));
        builder.Services.AddSingleton<EngineWorker>();
        builder.Services.AddHostedService<RetentionSweeper>();

        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = options.MaxReceiveMessageSize;
            o.MaxSendMessageSize = options.MaxSendMessageSize;
            o.Interceptors.Add<ServiceTokenInterceptor>();
            o.Interceptors.Add<JobErrorInterceptor>();
        });
        builder.Services.AddGrpcReflection();
        // grpc.health.v1: "" and "tlora.v1.TLoRAService" are SERVING only while every readiness check passes.
        builder.Services.AddGrpcHealthChecks(o => o.Services.Map(TLoRAService.Descriptor.FullName, _ => true))
            .AddCheck<EngineThreadCheck>("engine")
            .AddCheck<ModelsFolderCheck>("models")
            .AddCheck<JobStoreCheck>("store");
        builder.Services.Configure<HealthCheckPublisherOptions>(o =>
        {
            o.Delay = TimeSpan.Zero;
            o.Period = TimeSpan.FromSeconds(options.HealthPublishSeconds);
        });
        builder.WebHost.ConfigureKestrel(k =>
        {
            void Http2(ListenOptions l) => l.Protocols = HttpProtocols.Http2;
            if (options.Bind == "localhost") k.ListenLocalhost(options.Port, Http2);
            else k.Listen(System.Net.IPAddress.Parse(options.Bind), options.Port, Http2);
            k.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(options.KeepAlivePingSeconds);
            k.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(options.KeepAlivePingTimeoutSeconds);
        });

        var app = builder.Build();
        app.MapGrpcService<TLoRAGrpcService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.ApplicationStarted.Register(() =>
        {
            var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("TLoRA.GpuService.Reconcile");
            foreach (var fix in DataReconciler.Reconcile(app.Services.GetRequiredService<JobStore>(), app.Services.GetRequiredService<JobPaths>()))
                log.LogWarning("data folder: {Fix}", fix);
            app.Services.GetRequiredService<JobManager>().Recover();
            app.Services.GetRequiredService<EngineWorker>().Start();
        });
        lifetime.ApplicationStopping.Register(() => _ = app.Services.GetRequiredService<EngineWorker>().Stop(TimeSpan.FromMinutes(2)));
        return app;
    }

    /// <summary>The addresses the service listens on, as bound (0.0.0.0 means every interface).</summary>
    public static IReadOnlyList<string> BoundAddresses(IServiceProvider services) =>
        (services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []).ToArray();

    /// <summary>Where clients reach the started service: each bound address, with a wildcard host as 127.0.0.1.</summary>
    public static IReadOnlyList<Uri> ClientAddresses(IServiceProvider services) =>
        (services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
            .Select(a => new Uri(a.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)
                .Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal)))
            .ToArray();
}
