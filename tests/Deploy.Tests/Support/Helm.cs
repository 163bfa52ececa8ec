using System.Text.Json.Nodes;

namespace TLoRA.Deploy.Tests.Support;

/// <summary>helm (installed by .ci/setup from the npm layer into helm/tools/bin) and the manifest validator
/// (helm/tools/validate-manifests.mjs). A missing tool fails the test with what to run; it never passes silently.</summary>
internal static class Helm
{
    public static string Binary
    {
        get
        {
            var helm = Path.Combine(Repo.Tools, "bin", "helm");
            if (!File.Exists(helm)) Assert.Fail($"helm is not installed at {helm}: run `bash .ci/setup`");
            return helm;
        }
    }

    /// <summary>Arguments selecting values: each file, then each --set.</summary>
    public static List<string> ValueArgs(IEnumerable<string>? files, IEnumerable<string>? sets)
    {
        var args = new List<string>();
        foreach (var f in files ?? []) args.AddRange(["-f", f]);
        foreach (var s in sets ?? []) args.AddRange(["--set", s]);
        return args;
    }

    public static Task<(int ExitCode, string Output, string Errors)> LintAsync(IEnumerable<string>? files = null, IEnumerable<string>? sets = null) =>
        Tool.RunAsync(Binary, ["lint", Repo.Chart, "--strict", .. ValueArgs(files, sets)]);

    public static Task<(int ExitCode, string Output, string Errors)> TemplateAsync(IEnumerable<string>? files = null,
        IEnumerable<string>? sets = null, string release = "t", string ns = "tlora") =>
        Tool.RunAsync(Binary, ["template", release, Repo.Chart, "--namespace", ns, .. ValueArgs(files, sets)]);

    /// <summary>Renders the chart, validates every object against the Kubernetes API schemas and returns them;
    /// fails the test when rendering fails or any object is invalid.</summary>
    public static async Task<Manifests> RenderAsync(IEnumerable<string>? files = null, IEnumerable<string>? sets = null, string release = "t")
    {
        var (code, yaml, errors) = await TemplateAsync(files, sets, release);
        Assert.True(code == 0, $"helm template failed: {errors}");
        var (valid, report, json) = await ValidateAsync(yaml);
        Assert.True(valid, "rendered objects failed validation:\n" + report);
        return new Manifests(json);
    }

    /// <summary>Runs the validator on <paramref name="yaml"/>: whether every object is valid, its report, the objects.</summary>
    public static async Task<(bool Valid, string Report, JsonArray Objects)> ValidateAsync(string yaml)
    {
        var node = Tool.OnPath("node", "install Node.js (bash .ci/setup)");
        if (!Directory.Exists(Path.Combine(Repo.Tools, "node_modules", "kubernetes-models")))
            Assert.Fail($"kubernetes-models is not installed: run `npm ci` in {Repo.Tools} (bash .ci/setup does it)");
        var json = Path.GetTempFileName();
        try
        {
            var (code, output, errors) = await Tool.RunAsync(node, [Path.Combine(Repo.Tools, "validate-manifests.mjs"), "--json", json],
                workingDirectory: Repo.Tools, stdin: yaml);
            var objects = new FileInfo(json).Length > 0 ? JsonNode.Parse(File.ReadAllText(json))!.AsArray() : [];
            return (code == 0, output + errors, objects);
        }
        finally
        {
            File.Delete(json);
        }
    }
}
