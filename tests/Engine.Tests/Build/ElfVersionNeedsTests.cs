using TLoRA.Build;
using TorchSharp;

namespace TLoRA.Engine.Tests.Build;

/// <summary>The build's libstdc++ fix for TorchSharp (src/Engine/build/TorchSharp.targets): the ELF edit on a copy, and
/// what the build left in this test's own output.</summary>
public sealed class ElfVersionNeedsTests : IDisposable
{
    private const string LibStdCxx = "libstdc++.so.6";
    private const string Version = "GLIBCXX_3.4.32";
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private static string OutputCopy()
    {
        var baseDir = AppContext.BaseDirectory;
        var candidates = new[] { Path.Combine(baseDir, "libLibTorchSharp.so") }
            .Concat(Directory.Exists(Path.Combine(baseDir, "runtimes"))
                ? Directory.GetFiles(Path.Combine(baseDir, "runtimes"), "libLibTorchSharp.so", SearchOption.AllDirectories)
                : []);
        return candidates.First(File.Exists);
    }

    private static string LoadedLibStdCxx() =>
        File.ReadLines("/proc/self/maps").Select(l => l[(l.IndexOf('/') is var i and >= 0 ? i : l.Length)..])
            .First(p => Path.GetFileName(p).StartsWith(LibStdCxx, StringComparison.Ordinal));

    [Fact]
    public void Marking_a_needed_version_weak_changes_that_flag_only_and_is_idempotent()
    {
        var original = File.ReadAllBytes(OutputCopy());
        var strict = (byte[])original.Clone();
        var need = ElfVersionNeeds.Needs(strict).Single(n => n.File == LibStdCxx && n.Version == Version);
        // Start from the package's state (not weak), whatever the build did to this copy.
        var flags = (ushort)(need.Flags & ~ElfVersionNeeds.VerFlagWeak);
        strict[need.FlagsOffset] = (byte)flags;
        strict[need.FlagsOffset + 1] = (byte)(flags >> 8);
        var before = ElfVersionNeeds.Needs(strict);
        Assert.False(before.Single(n => n.Version == Version && n.File == LibStdCxx).IsWeak);

        var edited = (byte[])strict.Clone();
        Assert.True(ElfVersionNeeds.MarkWeak(edited, LibStdCxx, Version));
        Assert.Equal(1, strict.Zip(edited).Count(p => p.First != p.Second)); // one byte of one flags field
        var after = ElfVersionNeeds.Needs(edited);
        Assert.Equal(before.Count, after.Count);
        foreach (var (b, a) in before.Zip(after))
        {
            Assert.Equal((b.File, b.Version), (a.File, a.Version));
            Assert.Equal(b.Version == Version && b.File == LibStdCxx, a.IsWeak && !b.IsWeak);
        }
        var again = (byte[])edited.Clone();
        Assert.False(ElfVersionNeeds.MarkWeak(again, LibStdCxx, Version)); // idempotent
        Assert.Equal(edited, again);

        // Written to a copy on disk, the edit reads back the same.
        var file = dir.Write("libLibTorchSharp.so", edited);
        Assert.True(ElfVersionNeeds.Needs(File.ReadAllBytes(file)).Single(n => n.Version == Version).IsWeak);
    }

    [Fact]
    public void Errors_name_the_problem()
    {
        Assert.Contains("not an ELF file", Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.Needs("hello"u8.ToArray())).Message);
        var elf = File.ReadAllBytes(OutputCopy());
        var e = Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.MarkWeak(elf, LibStdCxx, "GLIBCXX_9.9.9"));
        Assert.Contains("GLIBCXX_9.9.9", e.Message);
    }

    [Fact]
    public void The_build_weakened_the_version_exactly_when_this_machine_lacks_it_and_the_library_loads()
    {
        var defined = ElfVersionNeeds.Definitions(File.ReadAllBytes(LoadedLibStdCxx()));
        Assert.Contains("GLIBCXX_3.4", defined); // the reader sees libstdc++'s versions at all
        var need = ElfVersionNeeds.Needs(File.ReadAllBytes(OutputCopy())).Single(n => n.File == LibStdCxx && n.Version == Version);
        Assert.Equal(!defined.Contains(Version), need.IsWeak);
        using var t = torch.ones(3);
        Assert.Equal(3.0, t.sum().ItemDouble());
    }

    /// <summary>A file of a package as restored for this test assembly: the version from its deps.json, the folder from
    /// NUGET_PACKAGES, else ~/.nuget/packages.</summary>
    private static string PackageFile(string id, string relative)
    {
        var depsJson = Path.Combine(AppContext.BaseDirectory, typeof(ElfVersionNeedsTests).Assembly.GetName().Name + ".deps.json");
        using var deps = System.Text.Json.JsonDocument.Parse(File.ReadAllText(depsJson));
        var library = deps.RootElement.GetProperty("libraries").EnumerateObject()
            .Single(l => l.Name.StartsWith(id + "/", StringComparison.OrdinalIgnoreCase)).Name;
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } env
            ? env
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var path = Path.Combine(root, library.ToLowerInvariant(), relative);
        Assert.True(File.Exists(path), $"the restored package file {path} is missing");
        return path;
    }

    private static (string Device, string Inode) Identity(string path)
    {
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-L", "-c", "%d %i", path])
        { RedirectStandardOutput = true })!;
        var fields = stat.StandardOutput.ReadToEnd().Split(' ', StringSplitOptions.TrimEntries);
        stat.WaitForExit();
        Assert.Equal(0, stat.ExitCode);
        return (fields[0], fields[1]);
    }

    [Fact]
    public void The_NuGet_cache_keeps_the_package_library_unchanged_although_outputs_are_hard_links()
    {
        // Outputs are hard-linked to the cache (Directory.Build.props); the fix-up must have replaced its copy, not
        // edited the shared file: the cache still needs the version strictly, as shipped.
        var cached = PackageFile("torchsharp", "runtimes/linux-x64/native/libLibTorchSharp.so");
        var need = ElfVersionNeeds.Needs(File.ReadAllBytes(cached)).Single(n => n.File == LibStdCxx && n.Version == Version);
        Assert.False(need.IsWeak);
        Assert.NotEqual(Identity(cached), Identity(OutputCopy()));
    }

    [Fact]
    public void Libtorch_in_the_output_is_a_hard_link_to_the_NuGet_cache_when_they_share_a_filesystem()
    {
        // ~600 MB per project that runs the engine; nine copies filled CI's disk.
        var cached = PackageFile("libtorch-cpu-linux-x64", "runtimes/linux-x64/native/libtorch_cpu.so");
        var output = Path.Combine(Path.GetDirectoryName(OutputCopy())!, "libtorch_cpu.so");
        var (cacheDevice, cacheInode) = Identity(cached);
        var (outputDevice, outputInode) = Identity(output);
        if (cacheDevice == outputDevice)
            Assert.True(cacheInode == outputInode,
                $"{output} is a copy of {cached}, not a hard link (an output built before hard links were on keeps its copy: rebuild from clean)");
    }
}
