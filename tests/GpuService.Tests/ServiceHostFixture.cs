using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using TLoRA.Contracts.V1;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Service;

namespace TLoRA.GpuService.Tests;

/// <summary>The real GPU service on a loopback port with a temp data folder, and a generated client over a
/// Grpc.Net.Client channel to it.</summary>
internal sealed class ServiceHost : IAsyncDisposable
{
    private readonly TempDir data;

    private ServiceHost(WebApplication app, Uri address, TempDir data)
    {
        App = app;
        Address = address;
        Channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = 64 * 1024 * 1024 });
        Client = new TLoRAService.TLoRAServiceClient(Channel);
        this.data = data;
    }

    public WebApplication App { get; }
    public Uri Address { get; }
    public GrpcChannel Channel { get; }
    public TLoRAService.TLoRAServiceClient Client { get; }
    public string DataDirectory => data.Path;

    /// <summary>Starts the service on <paramref name="port"/> (0: any free one).</summary>
    public static async Task<ServiceHost> StartAsync(int queueCapacity = 8, string? dataDirectory = null, int port = 0,
        Action<GpuServiceOptions>? configure = null)
    {
        var dir = new TempDir();
        var app = GpuServiceHost.Build([], o =>
        {
            o.ModelsDirectory = FixturePaths.Root;
            o.DataDirectory = dataDirectory ?? dir.Path;
            o.Port = port;
            o.QueueCapacity = queueCapacity;
            configure?.Invoke(o);
        });
        await app.StartAsync();
        return new ServiceHost(app, GpuServiceHost.ClientAddresses(app.Services)[0], dir);
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        data.Dispose();
    }
}
