using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TLoRA.WebUI.Tests.EndToEnd;

/// <summary>
/// The whole stack as a user starts it: the GPU service (`tlora serve` over tests/fixtures), the gateway and the
/// WebUI, as three processes from their build outputs, on free loopback ports. Their output is kept and attached to
/// failures. The service can be stopped and started again on the same port and data (to resume an interrupted job).
/// With an <see cref="TestAuthority"/>, the gateway also trusts its access tokens and the WebUI offers single sign-on
/// there, as the chart configures `gateway.auth.authority` and `webui.oidc`.
/// </summary>
public sealed class Stack(Host.TestAuthority? authority = null) : IAsyncLifetime
{
    private readonly Dictionary<string, Process> processes = [];
    private readonly StringBuilder log = new();
    private int servicePort;
    private string adminPasswordHash = "";

    public Uri WebAddress { get; private set; } = null!;
    public Uri GatewayAddress { get; private set; } = null!;

    /// <summary>The API key the stack's gateway knows (admin scope): the WebUI calls the gateway with it, as the chart
    /// configures a deployment, and so do the tests' own REST calls (<see cref="GatewayClient"/>).</summary>
    public string ApiKey { get; } = "tlk_" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>The WebUI's admin (WebUI:Admin): the browser tests sign in on /login with this user and password; the
    /// WebUI is given only the password's hash, as `hash-password` prints it.</summary>
    public const string AdminUser = "admin";

    public string AdminPassword { get; } = "pw-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));

    /// <summary>An HttpClient for the gateway's REST API that presents <see cref="ApiKey"/>.</summary>
    public HttpClient GatewayClient()
    {
        var http = new HttpClient { BaseAddress = GatewayAddress };
        http.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        return http;
    }
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

    private static string Output(string project, string dll) => Path.Combine(RepositoryRoot, "src", project, "bin", Configuration, "net10.0", dll);

    public string Log
    {
        get { lock (log) return log.ToString(); }
    }

    private readonly string serviceToken = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    public async Task InitializeAsync()
    {
        adminPasswordHash = TLoRA.WebUI.Auth.AdminPassword.Hash(AdminPassword, TLoRA.WebUI.Auth.AdminPassword.MinIterations);
        var (service, gateway, web) = (Output("GpuService", "tlora.dll"), Output("Gateway", "TLoRA.Gateway.dll"), Output("WebUI", "TLoRA.WebUI.dll"));
        foreach (var dll in new[] { service, gateway, web })
            if (!File.Exists(dll)) Assert.Fail($"{dll} is missing: build the solution first (dotnet build TLoRA.sln -c {Configuration})");
        servicePort = FreePort();
        Directory.CreateDirectory(DataDirectory);
        StartService();
        GatewayAddress = new Uri($"http://127.0.0.1:{FreePort()}");
        Start("gateway", gateway, "--urls", GatewayAddress.ToString().TrimEnd('/'), $"--Gateway:Services:0=http://127.0.0.1:{servicePort}",
            "--Gateway:HealthCheckIntervalSeconds=0.5");
        WebAddress = new Uri($"http://127.0.0.1:{FreePort()}");
        Start("webui", web, "--urls", WebAddress.ToString().TrimEnd('/'), $"--WebUI:Gateway={GatewayAddress.ToString().TrimEnd('/')}",
            "--WebUI:Auth:RevalidateSeconds=1", "--WebUI:Admin:LoginAttemptsPerMinute=1000");
        await WaitHealthyAsync(GatewayAddress, TimeSpan.FromSeconds(90));
        await WaitHealthyAsync(WebAddress, TimeSpan.FromSeconds(60));
    }

    private void StartService() => Start("service", Output("GpuService", "tlora.dll"), "serve", "--models", Path.Combine(RepositoryRoot, "tests", "fixtures"),
        "--data", DataDirectory, "--port", servicePort.ToString(CultureInfo.InvariantCulture));

    /// <summary>Kills the GPU service (a crash: running jobs become interrupted) and starts it again on the same port and data.</summary>
    public async Task RestartServiceAsync()
    {
        var old = processes["service"];
        old.Kill(entireProcessTree: true);
        await old.WaitForExitAsync();
        old.Dispose();
        StartService();
        await WaitHealthyAsync(GatewayAddress, TimeSpan.FromSeconds(90));
    }

    private void Start(string name, string dll, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = DataDirectory };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        // every process as in production: the gateway accepts the stack's one API key, which the WebUI presents
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Gateway__Auth__ApiKeys__0__Name"] = "webui";
        start.Environment["Gateway__Auth__ApiKeys__0__Hash"] = Convert.ToHexStringLower(
            System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(ApiKey)));
        start.Environment["Gateway__Auth__ApiKeys__0__Owner"] = "e2e";
        start.Environment["Gateway__Auth__ApiKeys__0__Scopes"] = "admin";
        start.Environment["WebUI__GatewayApiKey"] = ApiKey;
        // the WebUI refuses to start in Production without its admin's password hash
        start.Environment["WebUI__Admin__User"] = AdminUser;
        start.Environment["WebUI__Admin__PasswordHash"] = adminPasswordHash;
        // every browser tab of the WebUI is this one owner to the gateway (one hub connection per circuit, every image
        // proxied): per-owner limits sized for one user would throttle the UI itself
        start.Environment["Gateway__Limits__MaxStreams"] = "64";
        start.Environment["Gateway__Limits__RequestsPerSecond"] = "200";
        start.Environment["Gateway__Limits__RequestBurst"] = "400";
        // the service requires its gateway's token outside Development
        start.Environment["GpuService__ServiceToken"] = serviceToken;
        start.Environment["Gateway__ServiceToken"] = serviceToken;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        if (authority is not null)
        {
            start.Environment["Gateway__Auth__Authority"] = authority.Issuer;
            start.Environment["Gateway__Auth__Audience"] = Host.TestAuthority.Audience;
            start.Environment["Gateway__Auth__RequireHttpsMetadata"] = "false";
            start.Environment["WebUI__Oidc__Authority"] = authority.Issuer;
            start.Environment["WebUI__Oidc__ClientId"] = Host.TestAuthority.ClientId;
            start.Environment["WebUI__Oidc__ClientSecret"] = Host.TestAuthority.ClientSecret;
            start.Environment["WebUI__Oidc__RequireHttpsMetadata"] = "false";
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {name}");
        process.OutputDataReceived += (_, e) => Append(name, e.Data);
        process.ErrorDataReceived += (_, e) => Append(name, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        processes[name] = process;
    }

    private void Append(string name, string? line)
    {
        if (line is null) return;
        lock (log) log.Append('[').Append(name).Append("] ").AppendLine(line);
    }

    /// <summary>Waits for /health to answer 200 (the gateway: a healthy GPU service behind it).</summary>
    private async Task WaitHealthyAsync(Uri address, TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (processes.Values.FirstOrDefault(p => p.HasExited) is { } dead)
                Assert.Fail($"a stack process exited with {dead.ExitCode} during start:\n{Log}");
            try
            {
                using var response = await http.GetAsync("/health");
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }
            await Task.Delay(250);
        }
        Assert.Fail($"{address} did not become healthy within {timeout}:\n{Log}");
    }

    /// <summary>A loopback port nothing listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async Task DisposeAsync()
    {
        foreach (var p in processes.Values.Reverse())
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
