using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TLoRA.WebUI.Tests.EndToEnd;

/// <summary>
/// The whole stack as a user starts it: the GPU service (`tlora serve` over tests/fixtures) and the gateway, as two
/// processes from their build outputs, on free loopback ports. Their output is kept and attached to failures.
/// </summary>
public sealed class Stack : IAsyncLifetime
{
    private readonly List<Process> processes = [];
    private readonly StringBuilder log = new();

    public Uri GatewayAddress { get; private set; } = null!;
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"tlora-e2e-{Guid.NewGuid():N}");

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "TLoRA.sln"))) return dir.FullName;
            throw new DirectoryNotFoundException($"no TLoRA.sln above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>Release or Debug, whichever this test assembly was built as (the services are built alongside it).</summary>
    private static string Configuration => AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";

    public string Log
    {
        get { lock (log) return log.ToString(); }
    }

    private readonly string serviceToken = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    public async Task InitializeAsync()
    {
        var root = RepositoryRoot;
        var service = Path.Combine(root, "src", "GpuService", "bin", Configuration, "net10.0", "tlora.dll");
        var gateway = Path.Combine(root, "src", "Gateway", "bin", Configuration, "net10.0", "TLoRA.Gateway.dll");
        foreach (var dll in new[] { service, gateway })
            if (!File.Exists(dll)) Assert.Fail($"{dll} is missing: build the solution first (dotnet build TLoRA.sln -c {Configuration})");
        var (servicePort, gatewayPort) = (FreePort(), FreePort());
        Directory.CreateDirectory(DataDirectory);
        Start("service", service, "serve", "--models", Path.Combine(root, "tests", "fixtures"), "--data", DataDirectory, "--port", servicePort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        GatewayAddress = new Uri($"http://127.0.0.1:{gatewayPort}");
        Start("gateway", gateway, "--urls", GatewayAddress.ToString().TrimEnd('/'), $"--Gateway:Services:0=http://127.0.0.1:{servicePort}",
            "--Gateway:HealthCheckIntervalSeconds=0.5");
        await WaitHealthyAsync(TimeSpan.FromSeconds(90));
    }

    private void Start(string name, string dll, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = DataDirectory };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        // the browser UI has no sign-in yet (it comes with the WebUI's own host): its gateway runs as the local
        // development owner, the only unauthenticated mode the gateway allows; the service stays in Production
        start.Environment["ASPNETCORE_ENVIRONMENT"] = name == "gateway" ? "Development" : "Production";
        if (name == "gateway") start.Environment["Gateway__Auth__DevelopmentAnonymous"] = "true";
        // the service requires its gateway's token outside Development
        start.Environment["GpuService__ServiceToken"] = serviceToken;
        start.Environment["Gateway__ServiceToken"] = serviceToken;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {name}");
        process.OutputDataReceived += (_, e) => Append(name, e.Data);
        process.ErrorDataReceived += (_, e) => Append(name, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        processes.Add(process);
    }

    private void Append(string name, string? line)
    {
        if (line is null) return;
        lock (log) log.Append('[').Append(name).Append("] ").AppendLine(line);
    }

    private async Task WaitHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = GatewayAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (processes.FirstOrDefault(p => p.HasExited) is { } dead)
                Assert.Fail($"a stack process exited with {dead.ExitCode} during start:\n{Log}");
            try
            {
                using var response = await http.GetAsync("/health");
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            await Task.Delay(250);
        }
        Assert.Fail($"the stack did not become healthy within {timeout}:\n{Log}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async Task DisposeAsync()
    {
        foreach (var p in Enumerable.Reverse(processes))
        {
            try
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
                await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                // already gone
            }
            p.Dispose();
        }
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
