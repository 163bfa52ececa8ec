using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TLoRA.Engine.Tests;
using TLoRA.Gateway.Security;
using TLoRA.Gateway.Services;
using TLoRA.GpuService.Tests;

namespace TLoRA.Gateway.Tests;

/// <summary>A real GPU service on loopback and the real gateway in front of it on 127.0.0.1, port 0.</summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    private ServiceHost? service;

    public WebApplication Gateway { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public Uri BaseAddress { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        service = await ServiceHost.StartAsync();
        Gateway = BuildGateway(service.Address.ToString());
        // Every test here may rely on the job feed being live: wait for its first connection.
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Gateway.Services.GetRequiredService<JobFeed>().Connected += _ => connected.TrySetResult();
        await Gateway.StartAsync();
        await connected.Task.WaitAsync(TimeSpan.FromSeconds(30));
        BaseAddress = new Uri(Gateway.Urls.First());
        Http = Client(BaseAddress);
    }

    /// <summary>A client of the gateway at <paramref name="address"/> that presents <paramref name="apiKey"/> (alice's by default).</summary>
    public static HttpClient Client(Uri address, string? apiKey = null)
    {
        var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Add(ApiKeys.Header, apiKey ?? TestKeys.Alice);
        return http;
    }

    /// <summary>Starts a gateway for <paramref name="services"/> and returns it with its address.</summary>
    /// <summary>A loopback port nothing listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task<(WebApplication App, Uri Address)> StartGatewayAsync(params string[] services)
    {
        var app = BuildGateway(services);
        await app.StartAsync();
        return (app, new Uri(app.Urls.First()));
    }

    /// <summary>A gateway for <paramref name="services"/> on 127.0.0.1, port 0, not yet started.</summary>
    public static WebApplication BuildGateway(params string[] services) => BuildGateway(services, []);

    /// <summary>As above, with more "Gateway:" settings (name → value). Callers authenticate with the
    /// <see cref="TestKeys"/>; the request rate is high enough for polling tests unless a setting lowers it.</summary>
    public static WebApplication BuildGateway(string[] services, Dictionary<string, string> gateway)
    {
        var settings = new Dictionary<string, string?> { ["Gateway:HealthCheckIntervalSeconds"] = "0.5", ["Gateway:Limits:RequestsPerSecond"] = "1000",
            ["Gateway:Limits:RequestBurst"] = "2000" };
        foreach (var (name, value) in TestKeys.Settings()) settings[name] = value;
        foreach (var (name, value) in gateway) settings[$"Gateway:{name}"] = value;
        for (var i = 0; i < services.Length; i++) settings[$"Gateway:Services:{i}"] = services[i];
        return GatewayHost.Build([], b =>
        {
            b.WebHost.UseUrls("http://127.0.0.1:0");
            b.Configuration.AddInMemoryCollection(settings);
            b.Logging.SetMinimumLevel(LogLevel.Warning);
        });
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (Gateway is not null)
        {
            await Gateway.StopAsync();
            await Gateway.DisposeAsync();
        }
        if (service is not null) await service.DisposeAsync();
    }

    /// <summary>POSTs a tiny training job (sdxl-tiny, rank 4) and returns its JSON.</summary>
    public async Task<JsonElement> SubmitTinyJobAsync(int steps = 2, int checkpointInterval = 0)
    {
        using var form = TinyForm(File.ReadAllBytes(Path.Combine(FixturePaths.Root, "concept", "toy-robot.jpg")), "toy-robot.jpg", steps, checkpointInterval);
        using var response = await Http.PostAsync("/api/jobs", form);
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        Assert.NotNull(response.Headers.Location);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static MultipartFormDataContent TinyForm(byte[] image, string fileName, int steps = 2, int checkpointInterval = 0)
    {
        var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(image), "image", fileName },
            { new StringContent("sdxl-tiny"), "modelId" },
            { new StringContent("sks"), "trigger" },
            { new StringContent("robot"), "classWord" },
            { new StringContent("tlora"), "method" },
            { new StringContent("4"), "rank" },
            { new StringContent(steps.ToString(System.Globalization.CultureInfo.InvariantCulture)), "steps" },
            { new StringContent(checkpointInterval.ToString(System.Globalization.CultureInfo.InvariantCulture)), "checkpointInterval" },
            { new StringContent("1"), "previewSteps" },
            { new StringContent("1"), "seed" },
            { new StringContent("a {0}"), "validationPrompts" },
        };
        return form;
    }

    /// <summary>Polls GET /api/jobs/{id}/events until the job's final event; returns every event.</summary>
    public async Task<List<JsonElement>> EventsUntilEndAsync(string jobId, TimeSpan timeout)
    {
        var events = new List<JsonElement>();
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var batch = await Http.GetFromJsonAsync<JsonElement[]>($"/api/jobs/{jobId}/events?from={events.Count + 1}");
            events.AddRange(batch!);
            if (events.Count > 0 && events[^1].GetProperty("final").GetBoolean()) return events;
            await Task.Delay(200);
        }
        throw new TimeoutException($"job {jobId} did not end within {timeout}; events so far: {events.Count}");
    }
}

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "gateway";
}
