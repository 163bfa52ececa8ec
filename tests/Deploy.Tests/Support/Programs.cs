namespace TLoRA.Deploy.Tests.Support;

/// <summary>The built programs the chart deploys (their apphosts in the build folders of this configuration).</summary>
internal static class Programs
{
    /// <summary>"Release" or "Debug": the configuration these tests were built in (bin/&lt;configuration&gt;/&lt;tfm&gt;/).</summary>
    private static string Configuration => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    private static string Tfm => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name;

    public static string BuildFolder(string project) => Path.Combine(Repo.Root, "src", project, "bin", Configuration, Tfm);

    /// <summary>The GPU service's apphost (`tlora`).</summary>
    public static string GpuService => Existing(Path.Combine(BuildFolder("GpuService"), "tlora"));

    public static string Gateway => Existing(Path.Combine(BuildFolder("Gateway"), "TLoRA.Gateway"));

    /// <summary>The WebUI's apphost, when built.</summary>
    public static string? WebUI => File.Exists(Path.Combine(BuildFolder("WebUI"), "TLoRA.WebUI")) ? Path.Combine(BuildFolder("WebUI"), "TLoRA.WebUI") : null;

    public static string Fixtures => Path.Combine(Repo.Root, "tests", "fixtures");

    private static string Existing(string path)
    {
        if (!File.Exists(path)) Assert.Fail($"{path} is not built: build the solution (dotnet build -c {Configuration})");
        return path;
    }
}
