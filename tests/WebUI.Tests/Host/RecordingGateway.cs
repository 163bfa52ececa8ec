using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TLoRA.WebUI.Tests.Host;

/// <summary>What the WebUI presented to the gateway on one call: the path, the bearer token, the API key.</summary>
public sealed record GatewayCall(string Path, string? Bearer, string? ApiKey);

/// <summary>A stand-in for the gateway that records the credentials of every REST call and hub connection made to it:
/// GET /api/jobs (an empty list), GET /api/images/{id} (four bytes), and the hub at /hubs/jobs (Join, Leave, JoinAll).</summary>
public sealed class RecordingGateway : IAsyncDisposable
{
    private readonly WebApplication app;

    public ConcurrentQueue<GatewayCall> Calls { get; } = new();
    public Uri Address { get; private set; } = null!;

    private RecordingGateway(WebApplication app) => this.app = app;

    public static async Task<RecordingGateway> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSignalR();
        var gateway = new RecordingGateway(builder.Build());
        var app = gateway.app;
        app.Use((context, next) =>
        {
            var request = context.Request;
            var bearer = request.Headers.Authorization.ToString() is { } a && a.StartsWith("Bearer ", StringComparison.Ordinal) ? a[7..]
                : request.Query["access_token"].ToString() is { Length: > 0 } q ? q : null;
            gateway.Calls.Enqueue(new GatewayCall(request.Path, bearer, request.Headers["X-Api-Key"].ToString() is { Length: > 0 } k ? k : null));
            return next(context);
        });
        app.MapGet("/api/jobs", () => Results.Json(Array.Empty<object>()));
        app.MapGet("/api/images/{id}", (string id) => Results.Bytes([1, 2, 3, 4], "image/png"));
        app.MapHub<JobsHub>("/hubs/jobs");
        await app.StartAsync();
        gateway.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return gateway;
    }

    /// <summary>The last call to <paramref name="path"/> (a prefix), or a failure naming what was called.</summary>
    public GatewayCall Last(string path) =>
        Calls.LastOrDefault(c => c.Path.StartsWith(path, StringComparison.Ordinal))
        ?? throw new Xunit.Sdk.XunitException($"the gateway saw no call to {path}; it saw: {string.Join(", ", Calls.Select(c => c.Path))}");

    public sealed class JobsHub : Hub
    {
        public Task Join(string jobId, long fromSequence) => Task.CompletedTask;
        public Task Leave(string jobId) => Task.CompletedTask;
        public Task JoinAll() => Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
