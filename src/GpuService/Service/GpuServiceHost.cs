using Grpc.Health.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TLoRA.GpuService.Jobs;
using TLoRA.Rpc.Health;
using TLoRA.Rpc.Server;
using TLoRA.Rpc.V1;

namespace TLoRA.GpuService.Service;

/// <summary>
/// Builds the GPU service host: options (section "GpuService", validated before anything starts), the job system,
/// the engine thread, tlora.v1.TLoRAService and grpc.health.v1 on Kestrel (HTTP/2, prior knowledge). Stopping
/// marks a running job interrupted after its current step.
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
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(new JobPaths(options.DataDirectory));
        builder.Services.AddSingleton(sp => new JobStore(sp.GetRequiredService<JobPaths>().Database));
        builder.Services.AddSingleton<JobEventBus>();
        builder.Services.AddSingleton(new JobQueue(options.QueueCapacity));
        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.AddSingleton<JobManager>();
        builder.Services.AddSingleton<EngineWorker>();
        builder.Services.AddScoped<TLoRARpcService>();
        builder.Services.AddRpcServer(o => o.MaxReceiveMessageSize = options.MaxReceiveMessageSize);
        builder.WebHost.ConfigureKestrel(k => k.ListenRpc(options.Port));
        var app = builder.Build();
        app.MapGrpcService<TLoRARpcService>(ServiceReflection.Descriptor.Services[0]);
        app.MapGrpcHealthService();
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.ApplicationStarted.Register(() =>
        {
            app.Services.GetRequiredService<JobManager>().Recover();
            app.Services.GetRequiredService<EngineWorker>().Start();
            app.Services.GetRequiredService<HealthStatusRegistry>().SetStatus(ServiceReflection.Descriptor.Services[0].FullName, HealthCheckResponse.Types.ServingStatus.Serving);
        });
        lifetime.ApplicationStopping.Register(() => _ = app.Services.GetRequiredService<EngineWorker>().Stop(TimeSpan.FromMinutes(2)));
        return app;
    }
}
