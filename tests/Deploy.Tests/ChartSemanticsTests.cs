using System.Text.Json.Nodes;
using TLoRA.Deploy.Tests.Support;
using static TLoRA.Deploy.Tests.Support.Manifests;

namespace TLoRA.Deploy.Tests;

/// <summary>What the rendered objects mean: the gateway lists every GPU pod, the backplane follows the replica count,
/// GPU pods ask for one GPU and are probed over grpc.health.v1, nothing runs as root, only gateways reach the GPUs.</summary>
public sealed class ChartSemanticsTests
{
    private static string Scenario(string name) => Path.Combine(Repo.Chart, "ci", name);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(7)]
    public async Task The_gateway_is_configured_with_every_gpu_pod(int replicas)
    {
        var m = await Helm.RenderAsync(sets: [$"gpuService.replicas={replicas}"], release: "prod");
        var sts = m.One("StatefulSet", "gpu-service");
        Assert.Equal(replicas, (int)sts["spec"]!["replicas"]!);
        var headless = m.One("Service", "gpu-service");
        Assert.Equal("None", (string?)headless["spec"]!["clusterIP"]);
        Assert.Equal(Name(headless), (string?)sts["spec"]!["serviceName"]);
        var port = (int)Assert.Single(headless["spec"]!["ports"]!.AsArray(), p => (string?)p!["name"] == "grpc")!["port"]!;

        var env = Env(Container(m.One("Deployment", "gateway")));
        var services = env.Keys.Where(k => k.StartsWith("Gateway__Services__", StringComparison.Ordinal)).ToArray();
        Assert.Equal(replicas, services.Length);
        for (var i = 0; i < replicas; i++)
        {
            // pod i of a StatefulSet is <sts>-i, reachable as <pod>.<headless service>.<namespace>.svc.<domain>
            Assert.Equal($"http://{Name(sts)}-{i}.{Name(headless)}.tlora.svc.cluster.local:{port}",
                (string?)env[$"Gateway__Services__{i}"]["value"]);
        }
    }

    [Fact]
    public async Task One_gateway_has_no_backplane()
    {
        var m = await Helm.RenderAsync();
        var env = Env(Container(m.One("Deployment", "gateway")));
        Assert.DoesNotContain("Gateway__Redis", env.Keys);
        Assert.Null(m.Find("Deployment", "redis"));
        Assert.All(m.OfKind("Secret"), secret => Assert.Null(secret["stringData"]?["redis-connection"]));
    }

    [Fact]
    public async Task Gpu_pods_listen_on_every_interface_and_share_one_service_token_with_the_gateways()
    {
        var m = await Helm.RenderAsync([Scenario("four-gpus-values.yaml")]);
        var gpu = Env(Container(m.One("StatefulSet", "gpu-service")));
        var gateway = Env(Container(m.One("Deployment", "gateway")));
        Assert.Equal("0.0.0.0", (string?)gpu["GpuService__Bind"]["value"]);
        var serviceRef = gpu["GpuService__ServiceToken"]["valueFrom"]!["secretKeyRef"]!;
        var gatewayRef = gateway["Gateway__ServiceToken"]["valueFrom"]!["secretKeyRef"]!;
        Assert.Equal(serviceRef.ToJsonString(), gatewayRef.ToJsonString());
        var secret = Assert.Single(m.OfKind("Secret"), s => Name(s) == (string?)serviceRef["name"]);
        var token = (string)secret["stringData"]![(string)serviceRef["key"]!]!;
        Assert.True(token.Length >= 32, $"a {token.Length}-character token");

        var given = await Helm.RenderAsync(sets: ["serviceToken.existingSecret=my-token", "serviceToken.existingSecretKey=t"]);
        var givenRef = Env(Container(given.One("StatefulSet", "gpu-service")))["GpuService__ServiceToken"]["valueFrom"]!["secretKeyRef"]!;
        Assert.Equal("my-token", (string?)givenRef["name"]);
        Assert.Equal("t", (string?)givenRef["key"]);
        Assert.All(given.OfKind("Secret"), s => Assert.Null(s["stringData"]?["service-token"]));
    }

    [Fact]
    public async Task Several_gateways_share_the_hub_over_the_in_chart_redis()
    {
        var m = await Helm.RenderAsync([Scenario("four-gpus-values.yaml")]);
        var gateway = m.One("Deployment", "gateway");
        Assert.True((int)gateway["spec"]!["replicas"]! > 1);
        var redisRef = Env(Container(gateway))["Gateway__Redis"]["valueFrom"]!["secretKeyRef"]!;
        var secret = Assert.Single(m.OfKind("Secret"), s => Name(s) == (string?)redisRef["name"]);
        var connection = (string)secret["stringData"]![(string)redisRef["key"]!]!;
        var redisService = m.One("Service", "redis");
        var redisPort = (int)redisService["spec"]!["ports"]![0]!["port"]!;
        Assert.StartsWith($"{Name(redisService)}:{redisPort}", connection, StringComparison.Ordinal);
        Assert.NotNull(m.Find("Deployment", "redis"));
    }

    [Fact]
    public async Task WebUI_replicas_keep_their_sign_in_keys_in_the_same_redis_and_only_they_and_the_gateways_reach_it()
    {
        var m = await Helm.RenderAsync([Scenario("four-gpus-values.yaml")]);
        var webui = m.One("Deployment", "webui");
        Assert.True((int)webui["spec"]!["replicas"]! > 1);
        var env = Env(Container(webui));
        var gatewayRef = Env(Container(m.One("Deployment", "gateway")))["Gateway__Redis"]["valueFrom"]!["secretKeyRef"]!;
        Assert.Equal(gatewayRef.ToJsonString(), env["WebUI__DataProtectionRedis"]["valueFrom"]!["secretKeyRef"]!.ToJsonString());
        Assert.EndsWith("-webui-data-protection", (string?)env["WebUI__DataProtectionRedisKey"]["value"], StringComparison.Ordinal);

        var policy = Assert.Single(m.OfKind("NetworkPolicy"), p => Name(p) == Name(m.One("Deployment", "redis")));
        var from = policy["spec"]!["ingress"]![0]!["from"]!.AsArray()
            .Select(f => (string?)f!["podSelector"]!["matchLabels"]!["app.kubernetes.io/component"]).ToArray();
        Assert.Equal(new[] { "gateway", "webui" }, from);

        // no Redis (one WebUI): the keys stay in the pod
        var single = Env(Container((await Helm.RenderAsync()).One("Deployment", "webui")));
        Assert.DoesNotContain("WebUI__DataProtectionRedis", single.Keys);
    }

    [Fact]
    public async Task Several_gateways_use_an_external_redis_from_a_given_secret()
    {
        var m = await Helm.RenderAsync(sets: ["gateway.replicas=2", "redis.external.existingSecret=my-redis", "redis.external.existingSecretKey=conn"]);
        var redisRef = Env(Container(m.One("Deployment", "gateway")))["Gateway__Redis"]["valueFrom"]!["secretKeyRef"]!;
        Assert.Equal("my-redis", (string?)redisRef["name"]);
        Assert.Equal("conn", (string?)redisRef["key"]);
        Assert.Null(m.Find("Deployment", "redis"));
    }

    [Fact]
    public async Task Gpu_pods_ask_for_one_gpu_on_gpu_nodes_and_are_probed_over_grpc_health()
    {
        var m = await Helm.RenderAsync([Scenario("four-gpus-values.yaml")]);
        var sts = m.One("StatefulSet", "gpu-service");
        var pod = PodSpec(sts);
        var c = Container(sts);
        Assert.Equal("1", c["resources"]!["limits"]!["nvidia.com/gpu"]!.ToString());
        Assert.Equal("nvidia", (string?)pod["runtimeClassName"]);
        Assert.Equal("true", (string?)pod["nodeSelector"]!["nvidia.com/gpu.present"]);
        Assert.Contains(pod["tolerations"]!.AsArray(), t => (string?)t!["key"] == "nvidia.com/gpu");
        var grpcPort = (int)Assert.Single(c["ports"]!.AsArray(), p => (string?)p!["name"] == "grpc")!["containerPort"]!;
        foreach (var probe in new[] { "startupProbe", "livenessProbe", "readinessProbe" })
            Assert.Equal(grpcPort, (int)c[probe]!["grpc"]!["port"]!);
        Assert.Equal("tlora.v1.TLoRAService", (string?)c["readinessProbe"]!["grpc"]!["service"]);
        Assert.Contains("cuda", Strings(c["args"]));
        // a volume per pod for its jobs, the models read-only
        var claim = Assert.Single(sts["spec"]!["volumeClaimTemplates"]!.AsArray())!;
        var mounts = c["volumeMounts"]!.AsArray().Select(v => v!.AsObject()).ToArray();
        Assert.Contains(mounts, v => (string?)v["name"] == (string?)claim["metadata"]!["name"] && (string?)v["mountPath"] == "/data");
        var models = Assert.Single(mounts, v => (string?)v["mountPath"] == "/models");
        Assert.True((bool)models["readOnly"]!);
        var modelsVolume = Assert.Single(pod["volumes"]!.AsArray(), v => (string?)v!["name"] == (string?)models["name"])!;
        Assert.Equal("shared-models", (string?)modelsVolume["persistentVolumeClaim"]!["claimName"]);
        Assert.True((bool)modelsVolume["persistentVolumeClaim"]!["readOnly"]!);
    }

    [Fact]
    public async Task The_cpu_demo_asks_for_no_gpu()
    {
        var m = await Helm.RenderAsync([Scenario("cpu-demo-values.yaml")]);
        var sts = m.One("StatefulSet", "gpu-service");
        var c = Container(sts);
        Assert.DoesNotContain("nvidia.com/gpu", c["resources"]!["limits"]!.AsObject().Select(p => p.Key));
        Assert.Null(PodSpec(sts)["runtimeClassName"]);
        var args = Strings(c["args"]);
        Assert.Equal("cpu", args[Array.IndexOf(args, "--device") + 1]);
        Assert.NotNull(Assert.Single(PodSpec(sts)["volumes"]!.AsArray(), v => v!["hostPath"] is not null));
    }

    [Theory]
    [InlineData("")]
    [InlineData("four-gpus-values.yaml")]
    [InlineData("cpu-demo-values.yaml")]
    public async Task Every_container_runs_as_non_root_without_privileges_on_a_read_only_root(string scenario)
    {
        var m = await Helm.RenderAsync(scenario == "" ? [] : [Scenario(scenario)]);
        var containers = m.Containers().ToArray();
        Assert.NotEmpty(containers);
        foreach (var (w, c) in containers)
        {
            var what = $"{Name(w)}/{c["name"]}";
            var sc = c["securityContext"]?.AsObject() ?? throw new Xunit.Sdk.XunitException($"{what} has no securityContext");
            Assert.True((bool?)sc["runAsNonRoot"] == true, $"{what}: runAsNonRoot");
            Assert.True((bool?)sc["allowPrivilegeEscalation"] == false, $"{what}: allowPrivilegeEscalation");
            Assert.True((bool?)sc["readOnlyRootFilesystem"] == true, $"{what}: readOnlyRootFilesystem");
            Assert.Contains("ALL", Strings(sc["capabilities"]?["drop"]));
            Assert.True(PodSpec(w)["securityContext"]?["runAsUser"] is null || (int)PodSpec(w)["securityContext"]!["runAsUser"]! > 0, what);
            Assert.NotNull(c["resources"]?["requests"]);
            Assert.NotNull(c["resources"]?["limits"]?["memory"]);
        }
    }

    [Fact]
    public async Task Only_gateways_reach_the_gpu_services_grpc_port()
    {
        var m = await Helm.RenderAsync();
        var policy = m.One("NetworkPolicy", "gpu-service");
        var gpuSelector = m.One("StatefulSet", "gpu-service")["spec"]!["selector"]!["matchLabels"]!;
        Assert.True(JsonNode.DeepEquals(gpuSelector, policy["spec"]!["podSelector"]!["matchLabels"]), "the policy selects the GPU pods");
        Assert.Equal(["Ingress"], Strings(policy["spec"]!["policyTypes"]));
        var gatewayLabels = m.One("Deployment", "gateway")["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
        var rules = policy["spec"]!["ingress"]!.AsArray().Select(r => r!.AsObject()).ToArray();
        var grpcRule = Assert.Single(rules, r => r["ports"]!.AsArray().Any(p => (string?)p!["port"] == "grpc"));
        var from = Assert.Single(grpcRule["from"]!.AsArray())!["podSelector"]!["matchLabels"]!.AsObject();
        Assert.All(from, kv => Assert.Equal((string?)kv.Value, (string?)gatewayLabels[kv.Key]));
        var webuiLabels = m.One("Deployment", "webui")["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
        Assert.Contains(from, kv => (string?)webuiLabels[kv.Key] != (string?)kv.Value);
        // the metrics port stays scrapable; no other rule opens the gRPC port
        Assert.All(rules.Where(r => r != grpcRule), r => Assert.Equal(["metrics"], r["ports"]!.AsArray().Select(p => (string)p!["port"]!)));
    }

    [Fact]
    public async Task The_web_ui_ingress_keeps_websockets_open_and_sessions_sticky()
    {
        var m = await Helm.RenderAsync();
        var ingress = m.One("Ingress", "webui");
        var a = ingress["metadata"]!["annotations"]!;
        Assert.Equal("cookie", (string?)a["nginx.ingress.kubernetes.io/affinity"]);
        Assert.True(int.Parse((string)a["nginx.ingress.kubernetes.io/proxy-read-timeout"]!) >= 3600);
        var backend = ingress["spec"]!["rules"]![0]!["http"]!["paths"]![0]!["backend"]!["service"]!;
        Assert.Equal(Name(m.One("Service", "webui")), (string?)backend["name"]);
        var gatewayUrl = (string?)Env(Container(m.One("Deployment", "webui")))["WebUI__Gateway"]["value"];
        Assert.StartsWith($"http://{Name(m.One("Service", "gateway"))}:", gatewayUrl, StringComparison.Ordinal);
    }

    /// <summary>A well-formed WebUI:Admin:PasswordHash line (`hash-password` prints such a line).</summary>
    public const string AdminPasswordHash = "pbkdf2-sha256$210000$c2FsdHNhbHRzYWx0c2FsdA==$q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

    [Fact]
    public async Task The_web_ui_admin_password_hash_reaches_the_pod_from_a_secret_only()
    {
        // given as a value: kept in the chart's Secret, referenced from the pod
        var m = await Helm.RenderAsync(sets: [$"webui.admin.passwordHash={AdminPasswordHash}", "webui.admin.user=ops"]);
        var env = Env(Container(m.One("Deployment", "webui")));
        Assert.Equal("ops", (string?)env["WebUI__Admin__User"]["value"]);
        Assert.Null(env["WebUI__Admin__PasswordHash"]["value"]);
        var hashRef = env["WebUI__Admin__PasswordHash"]["valueFrom"]!["secretKeyRef"]!;
        var secret = Assert.Single(m.OfKind("Secret"), s => Name(s) == (string?)hashRef["name"]);
        Assert.Equal(AdminPasswordHash, (string?)secret["stringData"]![(string)hashRef["key"]!]);

        // a Secret of the user's: referenced by name and key, nothing of it in the chart's Secret
        var given = await Helm.RenderAsync(sets: ["webui.admin.existingSecret=webui-admin", "webui.admin.existingSecretKey=hash"]);
        var givenRef = Env(Container(given.One("Deployment", "webui")))["WebUI__Admin__PasswordHash"]["valueFrom"]!["secretKeyRef"]!;
        Assert.Equal(("webui-admin", "hash"), ((string?)givenRef["name"], (string?)givenRef["key"]));
        Assert.All(given.OfKind("Secret"), s => Assert.Null(s["stringData"]?["webui-admin-password-hash"]));

        // neither: no hash at all (the WebUI then refuses to start and names the setting), default user "admin"
        var none = Env(Container((await Helm.RenderAsync()).One("Deployment", "webui")));
        Assert.DoesNotContain("WebUI__Admin__PasswordHash", none.Keys);
        Assert.Equal("admin", (string?)none["WebUI__Admin__User"]["value"]);
    }

    [Fact]
    public async Task Web_ui_single_sign_on_reaches_the_pod_with_its_secret_by_reference_and_needs_the_gateway_to_trust_the_authority()
    {
        const string authority = "https://login.example.com/realms/tlora";
        string[] oidc = [$"webui.oidc.authority={authority}", "webui.oidc.clientId=tlora-webui", "webui.oidc.displayName=Example SSO"];
        var m = await Helm.RenderAsync(sets: [.. oidc, "webui.oidc.clientSecret.existingSecret=webui-oidc", $"gateway.auth.authority={authority}",
            "gateway.auth.audience=tlora-api"]);
        var env = Env(Container(m.One("Deployment", "webui")));
        Assert.Equal(authority, (string?)env["WebUI__Oidc__Authority"]["value"]);
        Assert.Equal("tlora-webui", (string?)env["WebUI__Oidc__ClientId"]["value"]);
        Assert.Equal("Example SSO", (string?)env["WebUI__Oidc__DisplayName"]["value"]);
        Assert.Contains("offline_access", (string?)env["WebUI__Oidc__Scopes"]["value"]);
        var secretRef = env["WebUI__Oidc__ClientSecret"]["valueFrom"]!["secretKeyRef"]!;
        Assert.Equal(("webui-oidc", "client-secret"), ((string?)secretRef["name"], (string?)secretRef["key"]));
        // no local admin needed with single sign-on
        Assert.DoesNotContain("WebUI__Admin__PasswordHash", env.Keys);

        // the gateway must accept the tokens the web UI forwards
        var (code, _, errors) = await Helm.TemplateAsync(sets: oidc);
        Assert.NotEqual(0, code);
        Assert.Contains("gateway.auth.authority", errors);
        // without oidc, nothing of it reaches the pod
        Assert.DoesNotContain(Env(Container((await Helm.RenderAsync()).One("Deployment", "webui"))).Keys, k => k.StartsWith("WebUI__Oidc", StringComparison.Ordinal));
    }

    /// <summary>Both hosts behind the chart's Ingresses believe forwarded headers only from the proxies listed; by
    /// default none (the headers are ignored).</summary>
    [Theory]
    [InlineData("webui", "WebUI")]
    [InlineData("gateway", "Gateway")]
    public async Task Trusted_proxies_reach_the_pod_and_the_schema_takes_only_addresses_and_networks(string component, string section)
    {
        var m = await Helm.RenderAsync(sets: [$"{component}.trustedProxies[0]=10.0.0.0/8", $"{component}.trustedProxies[1]=fd00::/8"]);
        var env = Env(Container(m.One("Deployment", component)));
        Assert.Equal("10.0.0.0/8", (string?)env[$"{section}__TrustedProxies__0"]["value"]);
        Assert.Equal("fd00::/8", (string?)env[$"{section}__TrustedProxies__1"]["value"]);
        Assert.DoesNotContain(Env(Container((await Helm.RenderAsync()).One("Deployment", component))).Keys,
            k => k.StartsWith($"{section}__TrustedProxies", StringComparison.Ordinal));
        var (code, _, errors) = await Helm.TemplateAsync(sets: [$"{component}.trustedProxies[0]=ingress-nginx"]);
        Assert.NotEqual(0, code);
        Assert.Contains("trustedProxies", errors);
    }

    [Fact]
    public async Task The_notes_warn_when_the_gateways_ingress_has_no_trusted_proxies()
    {
        async Task<string> NotesAsync(params string[] sets)
        {
            var (code, output, stderr) = await Tool.RunAsync(Helm.Binary,
                ["install", "t", Repo.Chart, "--dry-run=client", "--namespace", "tlora", .. Helm.ValueArgs(null, sets)]);
            Assert.True(code == 0, stderr);
            return output[output.IndexOf("NOTES:", StringComparison.Ordinal)..];
        }
        const string warning = "WARNING: gateway.trustedProxies is empty";
        Assert.Contains(warning, await NotesAsync("gateway.ingress.enabled=true"));
        Assert.DoesNotContain(warning, await NotesAsync("gateway.ingress.enabled=true", "gateway.trustedProxies[0]=10.0.0.0/8"));
        Assert.DoesNotContain(warning, await NotesAsync()); // no gateway Ingress: nothing forwards to it
    }

    [Fact]
    public async Task Disruption_budgets_cover_gpu_pods_and_replicated_deployments()
    {
        var m = await Helm.RenderAsync([Scenario("four-gpus-values.yaml")]);
        Assert.Equal(1, (int)m.One("PodDisruptionBudget", "gpu-service")["spec"]!["maxUnavailable"]!);
        Assert.NotNull(m.Find("PodDisruptionBudget", "gateway"));
        Assert.Equal(["gateway", "gpu-service"], m.OfKind("ServiceMonitor").Select(Component).Order());
        // one replica: a minAvailable budget of 1 would block every drain, so none is rendered
        var single = await Helm.RenderAsync();
        Assert.Null(single.Find("PodDisruptionBudget", "gateway"));
    }
}
