using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace TLoRA.Gateway.Tests.Security;

/// <summary>A gateway in front of a GPU service address nobody listens on: enough for what the edge decides by itself
/// (authentication, limits, headers, origins), which it does before any call to a service.</summary>
internal static class EdgeGateway
{
    public static string NoService() => $"http://127.0.0.1:{GatewayFixture.FreePort()}";

    /// <summary>Builds one with exactly <paramref name="settings"/> (no test keys unless given) in <paramref name="environment"/>.</summary>
    public static WebApplication Build(Dictionary<string, string?> settings, string environment = "Production", Action<WebApplicationBuilder>? configure = null)
    {
        settings.TryAdd("Gateway:Services:0", NoService());
        return GatewayHost.Build([$"--environment={environment}"], b =>
        {
            b.WebHost.UseUrls("http://127.0.0.1:0");
            b.Configuration.AddInMemoryCollection(settings);
            b.Logging.SetMinimumLevel(LogLevel.Warning);
            configure?.Invoke(b);
        });
    }

    /// <summary>Starts one with the test keys and <paramref name="settings"/>.</summary>
    public static async Task<(WebApplication App, Uri Address)> StartAsync(Dictionary<string, string?>? settings = null)
    {
        settings ??= [];
        foreach (var (name, value) in TestKeys.Settings()) settings.TryAdd(name, value);
        var app = Build(settings);
        await app.StartAsync();
        return (app, new Uri(app.Urls.First()));
    }

}
