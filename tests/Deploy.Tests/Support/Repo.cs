namespace TLoRA.Deploy.Tests.Support;

/// <summary>The repository's folders, found by walking up from the test binaries.</summary>
internal static class Repo
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "helm", "tlora", "Chart.yaml"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no helm/tlora/Chart.yaml above {AppContext.BaseDirectory}");
    });

    public static string Root => RootPath.Value;

    public static string Chart => Path.Combine(Root, "helm", "tlora");

    public static string Tools => Path.Combine(Root, "helm", "tools");

    /// <summary>The scenario values files CI renders (helm/tlora/ci/*-values.yaml).</summary>
    public static IEnumerable<string> ScenarioFiles() =>
        Directory.EnumerateFiles(Path.Combine(Chart, "ci"), "*-values.yaml").Order(StringComparer.Ordinal);
}
