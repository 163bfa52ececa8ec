using System.Text.Json.Nodes;
using System.Net.Http.Json;
using System.Text.Json;
using TLoRA.Deploy.Tests.Support;
using static TLoRA.Deploy.Tests.Support.Manifests;

namespace TLoRA.Deploy.Tests;

/// <summary>
/// The chart's commands really start the programs: each rendered container's command, args and env run the built
/// program on loopback (container paths mapped to temp folders and the fixture models, cluster names and ports to
/// 127.0.0.1 and free ports), and it becomes healthy as its probes would see it.
/// </summary>
public sealed class ChartCommandTests
{
    private const string Namespace = "tlora";

    [Fact]
    public async Task The_cpu_demo_gpu_services_and_gateway_start_as_rendered_and_become_healthy()
    {
        var redisServer = Tool.OnPath("redis-server", "install Debian's redis-server (bash .ci/setup)");
        var redisPort = Ports.Free();
        await using var redis = RunningProgram.Start("redis", redisServer, ["--port", redisPort.ToString(), "--bind", "127.0.0.1", "--save", ""]);
        var m = await Helm.RenderAsync([Path.Combine(Repo.Chart, "ci", "cpu-demo-values.yaml")],
            ["redis.external.connectionString=redis.test.svc:6379\\,abortConnect=false",
             // a gateway outside Development starts only with callers to authenticate: one API key (its hash)
             $"gateway.auth.apiKeys[0].hash={new string('a', 64)}", "gateway.auth.apiKeys[0].owner=ops", "gateway.auth.apiKeys[0].scopes=admin"]);
        var sts = m.One("StatefulSet", "gpu-service");
        var gatewayDeployment = m.One("Deployment", "gateway");
        var gpu = Container(sts);
        var gw = Container(gatewayDeployment);
        var headless = Name(m.One("Service", "gpu-service"));
        var grpcPort = Port(gpu, "grpc");
        var metricsPort = Port(gpu, "metrics");
        var httpPort = Port(gw, "http");
        using var temp = new TempFolder();

        var map = new PodCommand.Map
        {
            ["/app/tlora"] = Programs.GpuService,
            ["/app/TLoRA.Gateway"] = Programs.Gateway,
            ["/models"] = Programs.Fixtures,
            ["/tmp"] = temp.Sub("tmp"),
            ["redis.test.svc:6379"] = $"127.0.0.1:{redisPort}",
        };
        var replicas = (int)sts["spec"]!["replicas"]!;
        var programs = new List<RunningProgram>();
        try
        {
            var metricsPorts = new List<int>();
            for (var i = 0; i < replicas; i++)
            {
                var pod = $"{Name(sts)}-{i}";
                var podMap = new PodCommand.Map();
                foreach (var kv in map) podMap[kv.Key] = kv.Value;
                var (g, mp) = (Ports.Free(), Ports.Free());
                podMap["/data"] = temp.Sub(pod);
                podMap[grpcPort.ToString()] = g.ToString();
                podMap[metricsPort.ToString()] = mp.ToString();
                metricsPorts.Add(mp);
                // the gateway reaches pod i by its stable name
                map[$"{pod}.{headless}.{Namespace}.svc.cluster.local:{grpcPort}"] = $"127.0.0.1:{g}";
                var cmd = PodCommand.From(gpu, m, pod, podMap);
                Assert.Contains("--service-id", cmd.Args);
                programs.Add(RunningProgram.Start(pod, cmd.File, cmd.Args, cmd.Env));
            }
            var gatewayPort = Ports.Free();
            map[httpPort.ToString()] = gatewayPort.ToString();
            var gwCmd = PodCommand.From(gw, m, Name(gatewayDeployment) + "-0", map);
            Assert.Contains(gwCmd.Env.Keys, k => k == "Gateway__Redis");
            programs.Add(RunningProgram.Start("gateway", gwCmd.File, gwCmd.Args, gwCmd.Env, Programs.BuildFolder("Gateway")));

            // the gateway's readiness probe path answers 200 once it sees every pod SERVING under its pod name
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{gatewayPort}") };
            var probe = (string)gw["readinessProbe"]!["httpGet"]!["path"]!;
            JsonElement health = default;
            await LocalCluster.WaitAsync(async () =>
            {
                try
                {
                    using var r = await http.GetAsync(probe);
                    if (!r.IsSuccessStatusCode) return false;
                    health = await r.Content.ReadFromJsonAsync<JsonElement>();
                    return health.GetProperty("services").EnumerateArray().All(s => s.GetProperty("status").GetString() == "healthy");
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, TimeSpan.FromMinutes(2), () => string.Join("\n", programs.Select(p => $"----- {p.Name}\n{p.Output}")));
            Assert.Equal(Enumerable.Range(0, replicas).Select(i => $"{Name(sts)}-{i}"),
                health.GetProperty("services").EnumerateArray().Select(s => s.GetProperty("serviceId").GetString()).Order());
            // each pod's metrics port and the gateway's /metrics answer Prometheus text
            foreach (var mp in metricsPorts)
                Assert.Contains("# TYPE", await http.GetStringAsync($"http://127.0.0.1:{mp}/metrics"));
            Assert.Contains("# TYPE", await http.GetStringAsync("/metrics"));
        }
        finally
        {
            foreach (var p in programs) await p.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_default_gpu_command_asks_for_cuda_and_a_cpu_build_says_which_build_property_is_needed()
    {
        var m = await Helm.RenderAsync();
        var sts = m.One("StatefulSet", "gpu-service");
        using var temp = new TempFolder();
        var map = new PodCommand.Map
        {
            ["/app/tlora"] = Programs.GpuService, ["/models"] = Programs.Fixtures, ["/data"] = temp.Sub("data"), ["/tmp"] = temp.Sub("tmp"),
            [Port(Container(sts), "grpc").ToString()] = Ports.Free().ToString(),
            [Port(Container(sts), "metrics").ToString()] = Ports.Free().ToString(),
        };
        var cmd = PodCommand.From(Container(sts), m, Name(sts) + "-0", map);
        var (code, output, errors) = await Tool.RunAsync(cmd.File, cmd.Args, timeout: TimeSpan.FromMinutes(1), env: cmd.Env);
        // this machine's build is the CPU backend: the rendered command is understood and refused for the device only
        Assert.NotEqual(0, code);
        Assert.Contains("TorchBackend", output + errors);
    }

    [Fact]
    public async Task The_web_ui_command_starts()
    {
        var webui = Programs.WebUI ?? throw new Xunit.Sdk.XunitException("the WebUI's apphost is not built");
        // outside Development the WebUI starts only with its admin's password hash (from the chart's Secret)
        var m = await Helm.RenderAsync(sets: [$"webui.admin.passwordHash={ChartSemanticsTests.AdminPasswordHash}"]);
        var deployment = m.One("Deployment", "webui");
        var c = Container(deployment);
        using var temp = new TempFolder();
        var port = Ports.Free();
        var map = new PodCommand.Map { ["/app/TLoRA.WebUI"] = webui, ["/tmp"] = temp.Sub("tmp"), [Port(c, "http").ToString()] = port.ToString() };
        var cmd = PodCommand.From(c, m, Name(deployment) + "-0", map);
        await using var program = RunningProgram.Start("webui", cmd.File, cmd.Args, cmd.Env, Path.GetDirectoryName(webui));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var probe = (string)c["readinessProbe"]!["httpGet"]!["path"]!;
        await LocalCluster.WaitAsync(async () =>
        {
            try
            {
                using var r = await http.GetAsync(probe);
                return r.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromMinutes(1), () => "the WebUI did not answer its readiness probe:\n" + program.Output);
        // and it signs its admin in: a page sends an anonymous browser to /login
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = http.BaseAddress };
        using var root = await anonymous.GetAsync("/");
        Assert.Equal(System.Net.HttpStatusCode.Redirect, root.StatusCode);
        Assert.StartsWith("/login", root.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
    }

    private static int Port(JsonNode container, string name) =>
        (int)Assert.Single(container["ports"]!.AsArray(), p => (string?)p!["name"] == name)!["containerPort"]!;

    private sealed class TempFolder : IDisposable
    {
        private readonly string path = Directory.CreateTempSubdirectory("tlora-chart-").FullName;

        public string Sub(string name) => Directory.CreateDirectory(Path.Combine(path, name)).FullName;

        public void Dispose()
        {
            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
