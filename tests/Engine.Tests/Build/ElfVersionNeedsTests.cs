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
}
