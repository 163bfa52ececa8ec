namespace TLoRA.Engine.Tests;

/// <summary>Finds the repository's tests/fixtures folder by walking up from the test binaries, or takes the folder
/// TLORA_FIXTURES names: another fixture set of the same layout (other sizes, ranks, seeds, sharded files) is swapped
/// in that way, and no test may depend on a fact of one set.</summary>
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
        if (Environment.GetEnvironmentVariable("TLORA_FIXTURES") is { Length: > 0 } swapped)
            return Directory.Exists(swapped) ? Path.GetFullPath(swapped)
                : throw new DirectoryNotFoundException($"TLORA_FIXTURES names no folder: {swapped}");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"no tests/fixtures folder above {AppContext.BaseDirectory}");
    }
}
