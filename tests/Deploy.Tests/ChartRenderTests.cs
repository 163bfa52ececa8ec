using TLoRA.Deploy.Tests.Support;

namespace TLoRA.Deploy.Tests;

/// <summary>helm lint (strict) and helm template for the default values and every scenario under helm/tlora/ci, each
/// rendered object validated against the Kubernetes API schemas; and the chart's refusals, which name the value to set.</summary>
public sealed class ChartRenderTests
{
    public static TheoryData<string> Scenarios()
    {
        var data = new TheoryData<string> { "" };
        foreach (var f in Repo.ScenarioFiles()) data.Add(Path.GetFileName(f));
        return data;
    }

    private static string[] Files(string scenario) => scenario == "" ? [] : [Path.Combine(Repo.Chart, "ci", scenario)];

    [Fact]
    public void There_are_at_least_three_scenarios()
    {
        Assert.True(Repo.ScenarioFiles().Count() >= 3, "helm/tlora/ci should hold the 1-GPU, 4-GPU + Redis and CPU-only scenarios");
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Lints_clean(string scenario)
    {
        var (code, output, errors) = await Helm.LintAsync(Files(scenario));
        Assert.True(code == 0, output + errors);
        Assert.Contains("0 chart(s) failed", output);
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Renders_only_schema_valid_objects(string scenario)
    {
        var manifests = await Helm.RenderAsync(Files(scenario));
        Assert.NotNull(manifests.Find("StatefulSet", "gpu-service"));
        Assert.NotNull(manifests.Find("Deployment", "gateway"));
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Notes_list_every_gpu_pod_the_gateways_use(string scenario)
    {
        var (code, output, errors) = await Tool.RunAsync(Helm.Binary,
            ["install", "t", Repo.Chart, "--dry-run=client", "--namespace", "tlora", .. Helm.ValueArgs(Files(scenario), null)]);
        Assert.True(code == 0, errors);
        var notes = output[output.IndexOf("NOTES:", StringComparison.Ordinal)..];
        var m = await Helm.RenderAsync(Files(scenario));
        var replicas = (int)m.One("StatefulSet", "gpu-service")["spec"]!["replicas"]!;
        var addresses = Manifests.Env(Manifests.Container(m.One("Deployment", "gateway")))
            .Where(kv => kv.Key.StartsWith("Gateway__Services__", StringComparison.Ordinal)).Select(kv => (string)kv.Value["value"]!).ToArray();
        Assert.Equal(replicas, addresses.Length);
        Assert.All(addresses, a => Assert.Contains("  - " + a, notes));
    }

    [Fact]
    public async Task The_validator_rejects_an_object_that_breaks_the_schema()
    {
        // the same path a rendered object takes, so a validator that accepts anything cannot hide behind the tests above
        const string yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: many\n  selector: {}\n  template: {}\n";
        var (valid, report, _) = await Helm.ValidateAsync(yaml);
        Assert.False(valid);
        Assert.Contains("/spec/replicas", report);
    }

    [Theory]
    [InlineData("gateway.replicas=2", "needs Redis")]
    [InlineData("webui.replicas=2", "webui.replicas > 1 needs Redis")]
    [InlineData("gpuService.models.existingClaim=", "gpuService.models")]
    [InlineData("gpuService.device=cpu", "gpuService.device=cuda")]
    [InlineData("gpuService.replicas=0", "/gpuService/replicas")]
    [InlineData("gpuService.unknownKey=1", "unknownKey")]
    [InlineData("webui.admin.passwordHash=plain-password", "/webui/admin/passwordHash")]
    [InlineData("webui.oidc.authority=http://login.example.com", "/webui/oidc/authority")]
    [InlineData("webui.oidc.authority=https://login.example.com", "without webui.oidc.clientId")]
    [InlineData("webui.oidc.scopes=profile", "/webui/oidc/scopes")]
    public async Task Refuses_a_configuration_that_cannot_work(string set, string message)
    {
        var (code, _, errors) = await Helm.TemplateAsync(sets: [set]);
        Assert.NotEqual(0, code);
        Assert.Contains(message, errors);
    }
}
