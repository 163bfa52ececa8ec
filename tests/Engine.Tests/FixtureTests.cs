using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests;

/// <summary>Every safetensors file of the SD-XL fixture (written by the Python safetensors library) reads.</summary>
public sealed class FixtureTests
{
    /// <summary>Reference outputs are data: a generator may leave one non-finite (the SD-XL fixture's
    /// vanilla.out_t0_fullmask is all NaN), and the parity tests that read one fail on it. Weights and adapters must be
    /// finite everywhere.</summary>
    private const string ReferenceOutputsFile = "reference_outputs.safetensors";

    public static TheoryData<string> FixtureFiles()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(FixturePaths.SdxlTiny, "*.safetensors", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            data.Add(Path.GetRelativePath(FixturePaths.SdxlTiny, f));
        return data;
    }

    [Fact]
    public void Fixture_folder_has_safetensors_files() =>
        Assert.True(FixtureFiles().Count >= 7, $"found {FixtureFiles().Count} files under {FixturePaths.SdxlTiny}");

    [Theory]
    [MemberData(nameof(FixtureFiles))]
    public void Every_tensor_reads_with_its_header_shape_and_dtype(string relative)
    {
        var path = Path.Combine(FixturePaths.SdxlTiny, relative);
        var raw = File.ReadAllBytes(path);
        using var scope = torch.NewDisposeScope();
        using var file = SafetensorsFile.Open(path);
        Assert.NotEmpty(file.Names);
        foreach (var name in file.Names)
        {
            var entry = file.Entries[name];
            using var t = file.Read(name);
            Assert.Equal(entry.Shape, t.shape);
            Assert.Equal(entry.Dtype, t.dtype);
            Assert.Equal(raw.AsSpan((int)entry.FileOffset, (int)entry.ByteLength).ToArray(), t.bytes.ToArray());
            if (!entry.Dtype.IsFloatingPoint() || t.numel() == 0) continue;
            if (Path.GetFileName(relative) == ReferenceOutputsFile) continue;
            var nonFinite = t.isfinite().logical_not().sum().item<long>();
            Assert.True(nonFinite == 0, $"{relative}: '{name}' has {nonFinite} non-finite values");
        }
    }

    [Fact]
    public void Unet_opens_as_a_component()
    {
        using var scope = torch.NewDisposeScope();
        using var unet = ShardedCheckpoint.OpenComponent(Path.Combine(FixturePaths.SdxlTiny, "unet"));
        var config = ConfigJson.LoadComponent<Engine.Unet.UNet2DConditionModelConfig>(Path.Combine(FixturePaths.SdxlTiny, "unet"));
        Assert.Equal(unet.IsSharded ? "diffusion_pytorch_model.safetensors.index.json" : "diffusion_pytorch_model.safetensors",
            Path.GetFileName(unet.Path));
        var convIn = unet.Entry("conv_in.weight");
        Assert.Equal(ScalarType.Float32, convIn.Dtype);
        Assert.Equal(4, convIn.Rank);
        Assert.Equal(new long[] { config.block_out_channels[0], config.in_channels, config.conv_in_kernel, config.conv_in_kernel },
            convIn.Shape);

        using var text = ShardedCheckpoint.OpenComponent(Path.Combine(FixturePaths.SdxlTiny, "text_encoder"));
        Assert.Equal(text.IsSharded ? "model.safetensors.index.json" : "model.safetensors", Path.GetFileName(text.Path));
        Assert.True(text.Contains("text_model.embeddings.position_embedding.weight"));
    }

    [Fact]
    public void Reading_everything_in_a_scope_frees_every_tensor()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var baseline = LiveTensors.Count;
        long total = 0;
        using (torch.NewDisposeScope())
        {
            foreach (var f in Directory.GetFiles(FixturePaths.SdxlTiny, "*.safetensors", SearchOption.AllDirectories))
            {
                using var file = SafetensorsFile.Open(f);
                var all = file.ReadAll();
                Assert.Equal(file.Count, all.Count);
                total += all.Count;
            }
            Assert.Equal(baseline + total, LiveTensors.Count);
        }
        Assert.True(total > 0);
        Assert.Equal(baseline, LiveTensors.Count);
    }
}
