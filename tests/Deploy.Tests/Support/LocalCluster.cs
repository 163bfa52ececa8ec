using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace TLoRA.Deploy.Tests.Support;

/// <summary>
/// What the chart deploys, as real processes on loopback: a Redis (Debian's redis-server), three GPU services
/// (`tlora serve` over the tiny fixture models, each with its own data folder and service id, as a StatefulSet pod has
/// its volume and name) and two gateways listing every service, sharing the hub over Redis. Free ports throughout.
/// </summary>
public sealed class LocalCluster : IAsyncLifetime
{
    public const int ServiceCount = 3;
    public const int GatewayCount = 2;

    private readonly string root = Directory.CreateTempSubdirectory("tlora-cluster-").FullName;
    private readonly RunningProgram?[] services = new RunningProgram?[ServiceCount];
    private readonly RunningProgram?[] gateways = new RunningProgram?[GatewayCount];
    private RunningProgram? redis;

    public int RedisPort { get; } = Ports.Free();
    public int[] ServicePorts { get; } = Enumerable.Range(0, ServiceCount).Select(_ => Ports.Free()).ToArray();
    public int[] GatewayPorts { get; } = Enumerable.Range(0, GatewayCount).Select(_ => Ports.Free()).ToArray();
    public HttpClient[] Gateways { get; } = new HttpClient[GatewayCount];

    /// <summary>The backplane's Redis channel prefix (unique per run, so runs side by side never meet).</summary>
    public string ChannelPrefix { get; } = "tlora-test-" + Guid.NewGuid().ToString("N")[..8];

    public static string ServiceId(int i) => $"gpu-{i}";

    /// <summary>The API key (admin scope) every gateway accepts and the test's REST and hub clients present.</summary>
    public string ApiKey { get; } = "tlk_" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>The secret the GPU services require of the gateways (they run as in production).</summary>
    private readonly string serviceToken = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    public Uri GatewayAddress(int j) => new($"http://127.0.0.1:{GatewayPorts[j]}");

    public async Task InitializeAsync()
    {
        var redisServer = Tool.OnPath("redis-server", "install Debian's redis-server (bash .ci/setup)");
        redis = RunningProgram.Start("redis", redisServer,
            ["--port", RedisPort.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
        await WaitAsync(() => TcpOpenAsync(RedisPort), TimeSpan.FromSeconds(20), () => "redis did not start:\n" + redis.Output);
        for (var i = 0; i < ServiceCount; i++) await StartServiceAsync(i);
        for (var j = 0; j < GatewayCount; j++)
        {
            Gateways[j] = new HttpClient { BaseAddress = GatewayAddress(j), Timeout = TimeSpan.FromMinutes(2) };
            Gateways[j].DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
            await StartGatewayAsync(j);
        }
    }

    /// <summary>Starts GPU service <paramref name="i"/> (again, after a kill: same port, data folder and id).</summary>
    public async Task StartServiceAsync(int i)
    {
        var data = Path.Combine(root, ServiceId(i));
        Directory.CreateDirectory(data);
        var service = services[i] = RunningProgram.Start(ServiceId(i), Programs.GpuService,
            ["serve", "--models", Programs.Fixtures, "--data", data, "--port", ServicePorts[i].ToString(), "--service-id", ServiceId(i)],
            new Dictionary<string, string> { ["TLORA_NUM_THREADS"] = "1", ["GpuService__ServiceToken"] = serviceToken });
        await WaitAsync(() => Task.FromResult(service.Output.Contains("listening on", StringComparison.Ordinal) || service.HasExited),
            TimeSpan.FromMinutes(2), () => $"{ServiceId(i)} did not start:\n{service.Output}");
        Assert.False(service.HasExited, $"{ServiceId(i)} exited:\n{service.Output}");
    }

    public Task KillServiceAsync(int i) => services[i]!.KillAsync();

    /// <summary>Starts gateway <paramref name="j"/> (again, after a kill: same port and configuration) and waits until
    /// it has checked every service healthy.</summary>
    public async Task StartGatewayAsync(int j)
    {
        var args = new List<string> { "--urls", GatewayAddress(j).ToString(), "--Gateway:HealthCheckIntervalSeconds=0.5",
            $"--Gateway:Redis=127.0.0.1:{RedisPort},abortConnect=false", $"--Gateway:RedisChannelPrefix={ChannelPrefix}" };
        for (var i = 0; i < ServiceCount; i++) args.Add($"--Gateway:Services:{i}=http://127.0.0.1:{ServicePorts[i]}");
        var gateway = gateways[j] = RunningProgram.Start($"gateway-{j}", Programs.Gateway, args,
            new Dictionary<string, string>
            {
                ["Gateway__ServiceToken"] = serviceToken,
                ["Gateway__Auth__ApiKeys__0__Hash"] = Convert.ToHexStringLower(
                    System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(ApiKey))),
                ["Gateway__Auth__ApiKeys__0__Owner"] = "scale-out",
                ["Gateway__Auth__ApiKeys__0__Scopes"] = "admin",
            }, workingDirectory: Programs.BuildFolder("Gateway"));
        await WaitAsync(async () => await AllHealthyAsync(j), TimeSpan.FromMinutes(1), () => $"gateway {j} did not become healthy:\n{gateway.Output}");
    }

    public Task KillGatewayAsync(int j) => gateways[j]!.KillAsync();

    /// <summary>Whether gateway <paramref name="j"/> reports every service healthy.</summary>
    public async Task<bool> AllHealthyAsync(int j)
    {
        try
        {
            var health = await Gateways[j].GetFromJsonAsync<JsonElement>("/health");
            return health.GetProperty("services").EnumerateArray().Count(s => s.GetProperty("status").GetString() == "healthy") == ServiceCount;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return false;
        }
    }

    /// <summary>Everything the processes printed, for failure messages.</summary>
    public string Logs() => string.Join("\n", services.Concat(gateways).Where(p => p is not null)
        .Select(p => $"----- {p!.Name}\n{Tail(p.Output)}"));

    private static string Tail(string s) => s.Length > 4000 ? s[^4000..] : s;

    public static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> failure)
    {
        var until = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail(failure());
            await Task.Delay(200);
        }
    }

    private static async Task<bool> TcpOpenAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var g in Gateways) g?.Dispose();
        foreach (var p in gateways.Concat(services)) if (p is not null) await p.DisposeAsync();
        if (redis is not null) await redis.DisposeAsync();
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
