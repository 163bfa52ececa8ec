using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TLoRA.Rpc.Client;
using TLoRA.Rpc.Server;
using TLoRA.Testing.V1;

namespace TLoRA.Rpc.Tests.Support;

/// <summary>An in-process Kestrel gRPC server on 127.0.0.1 (a free port) with Echo and grpc.health.v1.</summary>
public sealed class EchoServer : IAsyncDisposable
{
    private EchoServer(WebApplication app, EchoProbe probe, LogCollector logs, Uri address)
    {
        App = app;
        Probe = probe;
        Logs = logs;
        Address = address;
    }

    public WebApplication App { get; }

    public EchoProbe Probe { get; }

    public LogCollector Logs { get; }

    /// <summary>e.g. http://127.0.0.1:41234</summary>
    public Uri Address { get; }

    public int Port => Address.Port;

    /// <summary>"127.0.0.1:port" for the peers.</summary>
    public string Target => $"127.0.0.1:{Address.Port}";

    public static async Task<EchoServer> StartAsync(Action<RpcServerOptions>? configure = null,
        X509Certificate2? certificate = null, bool logToConsole = false)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        var probe = new EchoProbe();
        var logs = new LogCollector();
        builder.WebHost.ConfigureKestrel(k => k.ListenRpc(IPAddress.Loopback, 0, certificate));
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Debug);
        if (logToConsole) builder.Logging.AddSimpleConsole();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.Services.AddRpcServer(configure);
        builder.Services.AddSingleton(probe);
        builder.Services.AddScoped<EchoService>();
        var app = builder.Build();
        app.MapGrpcService<EchoService>(EchoReflection.Descriptor.Services[0]);
        app.MapGrpcHealthService();
        await app.StartAsync();
        var bound = RpcServerHost.GetListeningAddresses(app.Services)[0];
        var scheme = certificate is null ? "http" : "https";
        var address = new Uri($"{scheme}://{(certificate is null ? "127.0.0.1" : "localhost")}:{bound.Port}");
        return new EchoServer(app, probe, logs, address);
    }

    public RpcChannel CreateChannel(RpcChannelOptions? options = null) => new(Address, options);

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
