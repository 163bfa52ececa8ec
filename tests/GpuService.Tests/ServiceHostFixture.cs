using Microsoft.AspNetCore.Builder;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Service;
using TLoRA.Rpc.Client;
using TLoRA.Rpc.Server;

namespace TLoRA.GpuService.Tests;

/// <summary>The real GPU service on a loopback port with a temp data folder, and a client channel to it.</summary>
internal sealed class ServiceHost : IAsyncDisposable
{
    private readonly TempDir data;

    private ServiceHost(WebApplication app, RpcChannel channel, TempDir data)
    {
        App = app;
        Channel = channel;
        this.data = data;
    }

    public WebApplication App { get; }
    public RpcChannel Channel { get; }
    public string DataDirectory => data.Path;

    /// <summary>Starts the service on <paramref name="port"/> (0: any free one).</summary>
    public static async Task<ServiceHost> StartAsync(int queueCapacity = 8, string? dataDirectory = null, int port = 0)
    {
        var dir = new TempDir();
        var app = GpuServiceHost.Build([], o =>
        {
            o.ModelsDirectory = FixturePaths.Root;
            o.DataDirectory = dataDirectory ?? dir.Path;
            o.Port = port;
            o.QueueCapacity = queueCapacity;
        });
        await app.StartAsync();
        var address = RpcServerHost.GetListeningAddresses(app.Services)[0];
        return new ServiceHost(app, new RpcChannel(address), dir);
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        data.Dispose();
    }
}
