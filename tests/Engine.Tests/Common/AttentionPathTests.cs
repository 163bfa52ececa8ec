using System.Text.RegularExpressions;

namespace TLoRA.Engine.Tests.Common;

/// <summary>Every attention of the engine (UNet, VAE, CLIP, T5, FLUX) goes through libtorch's fused
/// scaled_dot_product_attention (ScaledDotProductAttention.Apply): no model composes softmax(q·kᵀ)·v itself.</summary>
public sealed partial class AttentionPathTests
{
    [Fact]
    public void No_engine_source_composes_attention_from_a_softmax()
    {
        var engine = FindEngineSource();
        var offenders = Directory.EnumerateFiles(engine, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, i, line)))
            .Where(x => !x.line.TrimStart().StartsWith("//", StringComparison.Ordinal) && Softmax().IsMatch(x.line))
            .Select(x => $"{Path.GetRelativePath(engine, x.f)}:{x.i + 1}").ToList();
        Assert.Empty(offenders);
        var users = Directory.EnumerateFiles(engine, "*.cs", SearchOption.AllDirectories)
            .Count(f => File.ReadAllText(f).Contains("ScaledDotProductAttention.Apply(", StringComparison.Ordinal));
        Assert.True(users >= 4, $"only {users} files call ScaledDotProductAttention.Apply"); // UNet/VAE Attention, CLIP, T5, FLUX
    }

    [GeneratedRegex(@"\bsoftmax\s*\(", RegexOptions.IgnoreCase)]
    private static partial Regex Softmax();

    private static string FindEngineSource()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "Engine");
            if (File.Exists(Path.Combine(candidate, "Engine.csproj"))) return candidate;
        }
        throw new DirectoryNotFoundException($"no src/Engine above {AppContext.BaseDirectory}");
    }
}
