using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Jobs;

namespace TLoRA.GpuService.Tests.Peers;

/// <summary>
/// Runs one real gRPC client (its whole script of cases) against the real GPU service, once per test class; each test
/// then checks one case's JSON line. When the peer prints a line with "await", it waits while this side checks the
/// service (a watch it cancelled is gone from the service while its channel is still open), then goes on. A missing
/// runtime fails every test with what to install: the interop tests never pass by not running.
/// </summary>
public abstract class PeerRun : IAsyncLifetime
{
    /// <summary>The service's largest accepted message in these runs (the peer sends one byte more).</summary>
    public const int MaxMessageBytes = 256 * 1024;

    private static readonly TimeSpan PeerTimeout = TimeSpan.FromMinutes(5);
    private readonly Dictionary<string, JsonElement> cases = [];
    private readonly Dictionary<string, int> watchersAtAwait = [];
    private Exception? failure;
    private ServiceHost? host;

    /// <summary>"python" or "node".</summary>
    public abstract string Name { get; }

    protected abstract Task<ProcessStartInfo> PeerAsync(string target, string googleRpcProtos);

    public async Task InitializeAsync()
    {
        try
        {
            host = await ServiceHost.StartAsync(configure: o =>
            {
                o.MaxReceiveMessageSize = MaxMessageBytes;
                o.MaxImageBytes = MaxMessageBytes / 2;
            });
            var googleRpc = Path.Combine(AppContext.BaseDirectory, "peer-protos", "google", "rpc");
            var start = await PeerAsync($"{host.Address.Host}:{host.Address.Port}", googleRpc);
            await RunAsync(start);
        }
        catch (Exception e)
        {
            failure = e;
        }
    }

    private async Task RunAsync(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = true;
        start.UseShellExecute = false;
        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        start.Environment["PYTHONIOENCODING"] = "utf-8";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}");
        var stderr = process.StandardError.ReadToEndAsync();
        var transcript = new List<string>();
        var bus = host!.App.Services.GetRequiredService<JobEventBus>();
        using var timeout = new CancellationTokenSource(PeerTimeout);
        try
        {
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                transcript.Add(line);
                if (!line.StartsWith('{')) continue;
                var json = JsonDocument.Parse(line).RootElement.Clone();
                var name = json.GetProperty("case").GetString()!;
                cases[name] = json;
                if (!json.TryGetProperty("await", out _)) continue;
                // "watching": the peer holds a watch open; otherwise it has just ended one and keeps its channel open.
                var expected = name == "watching" ? 1 : 0;
                for (var i = 0; i < 200 && bus.AllWatcherCount != expected; i++) await Task.Delay(50, timeout.Token);
                watchersAtAwait[name] = bus.AllWatcherCount;
                await process.StandardInput.WriteLineAsync();
                await process.StandardInput.FlushAsync();
            }
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the {Name} peer did not finish within {PeerTimeout}:\n{string.Join('\n', transcript)}");
        }
        if (process.ExitCode != 0 || !cases.ContainsKey("done"))
            throw new InvalidOperationException($"the {Name} peer failed (exit {process.ExitCode}):\n{string.Join('\n', transcript)}\n{await stderr}");
    }

    /// <summary>The JSON line the peer printed for <paramref name="name"/>.</summary>
    public JsonElement Case(string name)
    {
        if (failure is not null) throw new InvalidOperationException($"the {Name} peer did not run: {failure.Message}", failure);
        Assert.True(cases.TryGetValue(name, out var line), $"the {Name} peer printed no line for case '{name}'");
        return line;
    }

    /// <summary>How many all-jobs watchers the service had while the peer waited after <paramref name="name"/>.</summary>
    public int WatchersAt(string name)
    {
        Case(name);
        return watchersAtAwait[name];
    }

    public async Task DisposeAsync()
    {
        if (host is not null) await host.DisposeAsync();
    }

    /// <summary>The repository root (where TLoRA.sln is): the peers and protos/ are read from there.</summary>
    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "TLoRA.sln"))) return dir.FullName;
            throw new DirectoryNotFoundException($"no TLoRA.sln above {AppContext.BaseDirectory}");
        }
    }

    protected static string Image => Path.Combine(FixturePaths.Root, "concept", "toy-robot.jpg");

    protected static string Protos => Path.Combine(RepoRoot, "protos");

    /// <summary>What every peer script takes: SCRIPT HOST:PORT PROTOS_DIR GOOGLE_RPC_PROTOS_DIR IMAGE MAX_MESSAGE_BYTES.</summary>
    protected static string[] Arguments(string script, string target, string googleRpcProtos) =>
        [script, target, Protos, googleRpcProtos, Image, MaxMessageBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)];

    protected static string Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"{name} is not on PATH");
}

/// <summary>Debian's python3-grpcio, with stubs made by Debian's protoc and grpc_python_plugin.</summary>
public sealed class PythonPeerRun : PeerRun
{
    public override string Name => "python";

    protected override Task<ProcessStartInfo> PeerAsync(string target, string googleRpcProtos)
    {
        const string python = "/usr/bin/python3";
        foreach (var path in new[] { python, "/usr/bin/protoc", "/usr/bin/grpc_python_plugin", "/usr/share/grpc-proto/grpc/health/v1/health.proto" })
            Assert.True(File.Exists(path), $"{path} is missing: apt-get install python3-grpcio python3-protobuf protobuf-compiler " +
                                           "protobuf-compiler-grpc grpc-proto (bash .ci/setup does it)");
        var peers = Path.Combine(RepoRoot, "tests", "GpuService.Tests", "peers", "python");
        var start = new ProcessStartInfo(python) { WorkingDirectory = peers };
        foreach (var a in Arguments(Path.Combine(peers, "tlora_peer.py"), target, googleRpcProtos)) start.ArgumentList.Add(a);
        return Task.FromResult(start);
    }
}

/// <summary>Node's @grpc/grpc-js with @grpc/proto-loader, and grpc-js-reflection-client for reflection.</summary>
public sealed class NodePeerRun : PeerRun
{
    public override string Name => "node";

    protected override Task<ProcessStartInfo> PeerAsync(string target, string googleRpcProtos)
    {
        var peers = Path.Combine(RepoRoot, "tests", "GpuService.Tests", "peers", "node");
        Assert.True(File.Exists(Path.Combine(peers, "node_modules", "@grpc", "grpc-js", "package.json")),
            $"the node peer's packages are missing: run `npm ci` in {peers} (bash .ci/setup does it)");
        var start = new ProcessStartInfo(Which("node")) { WorkingDirectory = peers };
        foreach (var a in Arguments(Path.Combine(peers, "tlora_peer.js"), target, googleRpcProtos)) start.ArgumentList.Add(a);
        return Task.FromResult(start);
    }
}
