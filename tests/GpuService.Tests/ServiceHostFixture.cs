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

    private ServiceHost(WebApplication app, Uri address, TempDir data, string? token)
    {
        App = app;
        Address = address;
        Channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            HttpHandler = new TokenHandler(token) { InnerHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true } },
        });
        Client = new TLoRAService.TLoRAServiceClient(Channel);
        this.data = data;
    }

    public WebApplication App { get; }
    public Uri Address { get; }
    public GrpcChannel Channel { get; }
    public TLoRAService.TLoRAServiceClient Client { get; }
    public string DataDirectory => data.Path;

    /// <summary>Starts the service on <paramref name="port"/> (0: any free one). Without a <paramref name="token"/>
    /// it runs as in Development (no token required); with one, as in production, and <see cref="Client"/> sends it.</summary>
    public static async Task<ServiceHost> StartAsync(int queueCapacity = 8, string? dataDirectory = null, int port = 0,
        Action<GpuServiceOptions>? configure = null, string? token = null)
    {
        var dir = new TempDir();
        var app = GpuServiceHost.Build(["--environment", token is null ? "Development" : "Production"], o =>
        {
            o.ModelsDirectory = FixturePaths.Root;
            o.DataDirectory = dataDirectory ?? dir.Path;
            o.Port = port;
            o.QueueCapacity = queueCapacity;
            o.ServiceToken = token;
            configure?.Invoke(o);
        });
        await app.StartAsync();
        return new ServiceHost(app, GpuServiceHost.ClientAddresses(app.Services)[0], dir, token);
    }

    /// <summary>Sends the service token as the gateway does.</summary>
    private sealed class TokenHandler(string? token) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (token is not null) request.Headers.TryAddWithoutValidation(TLoRA.GpuService.Service.ServiceTokenInterceptor.Header, token);
            return base.SendAsync(request, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        data.Dispose();
    }
}
