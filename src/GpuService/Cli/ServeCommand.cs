using System.CommandLine;
using Spectre.Console;
using Microsoft.Extensions.DependencyInjection;
using TLoRA.GpuService.Service;

namespace TLoRA.GpuService.Cli;

/// <summary>`tlora serve`: the GPU service (tlora.v1.TLoRAService, grpc.health.v1, reflection) on one port, HTTP/2 cleartext.
/// Settings come from appsettings/environment (GpuService__Port, ...) and these options override them.</summary>
internal static class ServeCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var models = new Option<string?>("--models") { Description = "folder whose subfolders are diffusers models (default tests/fixtures)" };
        var data = new Option<string?>("--data") { Description = "job database, adapters and images (default ./data)" };
        var port = new Option<int?>("--port") { Description = "gRPC port (default 50051)" };
        var bind = new Option<string?>("--bind") { Description = "address to listen on (default 127.0.0.1; 0.0.0.0 or :: for every interface)" };
        var device = new Option<string?>("--device");
        var dtype = new Option<string?>("--dtype");
        var capacity = new Option<int?>("--queue-capacity");
        var serviceId = new Option<string?>("--service-id") { Description = "the prefix of job ids (default: kept in the data folder)" };
        var command = new Command("serve", "run the GPU service (gRPC: Train, Sample, InspectAdapter, jobs)") { models, data, port, bind, device, dtype, capacity, serviceId };
        command.SetAction(p =>
        {
            var app = GpuServiceHost.Build([], o =>
            {
                if (p.GetValue(models) is { } m) o.ModelsDirectory = m;
                if (p.GetValue(data) is { } d) o.DataDirectory = d;
                if (p.GetValue(port) is { } n) o.Port = n;
                if (p.GetValue(bind) is { } b) o.Bind = b;
                if (p.GetValue(device) is { } dev) o.Device = dev;
                if (p.GetValue(dtype) is { } t) o.Dtype = t;
                if (p.GetValue(capacity) is { } c) o.QueueCapacity = c;
                if (p.GetValue(serviceId) is { } id) o.ServiceId = id;
            });
            app.Lifetime.ApplicationStarted.Register(() =>
                console.MarkupLine(Markup.Escape($"tlora GPU service {app.Services.GetRequiredService<ServiceIdentity>().Id} listening on " +
                    $"{string.Join(", ", GpuServiceHost.BoundAddresses(app.Services))}" +
                    (app.Services.GetRequiredService<GpuServiceOptions>().ServiceToken is { Length: > 0 } ? " (service token required)" : " (no service token: Development)") +
                    " (Ctrl+C stops; a running job becomes resumable)")));
            app.Run();
            return 0;
        });
        return command;
    }
}
