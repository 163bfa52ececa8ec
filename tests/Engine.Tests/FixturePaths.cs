namespace TLoRA.Engine.Tests;

/// <summary>Finds the repository's tests/fixtures folder by walking up from the test binaries.</summary>
public static class FixturePaths
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    /// <summary>The tests/fixtures folder.</summary>
    public static string Root => RootPath.Value;

    /// <summary>The SD-XL pipeline fixture folder.</summary>
    public static string SdxlTiny => Path.Combine(Root, "sdxl-tiny");

    /// <summary>The FLUX.1-dev pipeline fixture folder.</summary>
    public static string FluxTiny => Path.Combine(Root, "flux-tiny");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"no tests/fixtures folder above {AppContext.BaseDirectory}");
    }
}
