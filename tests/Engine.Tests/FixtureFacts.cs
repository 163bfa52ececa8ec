using System.Buffers.Binary;
using System.Text.Json;

namespace TLoRA.Engine.Tests;

/// <summary>Facts of the fixture models read straight from their files (config JSON, safetensors headers), without
/// the engine's own readers, so that a test's expectation never hard-codes one fixture set's sizes.</summary>
public static class FixtureFacts
{
    /// <summary>A JSON file of a fixture folder, e.g. ("unet", "config.json").</summary>
    public static JsonElement Json(string folder, params string[] parts)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine([folder, .. parts])));
        return doc.RootElement.Clone();
    }

    /// <summary>Tensor names in a component folder's checkpoint: one .safetensors file, or the shards an
    /// index.json lists.</summary>
    public static IReadOnlyList<string> TensorNames(string componentFolder)
    {
        var index = Directory.GetFiles(componentFolder, "*.safetensors.index.json").SingleOrDefault();
        if (index is not null)
            return Json(componentFolder, Path.GetFileName(index)).GetProperty("weight_map").EnumerateObject().Select(p => p.Name).ToList();
        return HeaderNames(Directory.GetFiles(componentFolder, "*.safetensors").Single());
    }

    /// <summary>Tensor names in one safetensors file's header (__metadata__ left out).</summary>
    public static IReadOnlyList<string> HeaderNames(string file)
    {
        using var stream = File.OpenRead(file);
        Span<byte> length = stackalloc byte[8];
        stream.ReadExactly(length);
        var header = new byte[BinaryPrimitives.ReadUInt64LittleEndian(length)];
        stream.ReadExactly(header);
        using var doc = JsonDocument.Parse(header);
        return doc.RootElement.EnumerateObject().Select(p => p.Name).Where(n => n != "__metadata__").ToList();
    }

    /// <summary>Attention modules of a denoiser folder (unet/ or transformer/): one to_q projection each.</summary>
    public static int AttentionLayers(string componentFolder) =>
        TensorNames(componentFolder).Count(n => n.EndsWith(".to_q.weight", StringComparison.Ordinal));

    /// <summary>An SD-XL folder's native resolution: the UNet's sample_size times the VAE's downscale
    /// (2^(levels − 1)).</summary>
    public static int SdxlNativeResolution(string folder) =>
        Json(folder, "unet", "config.json").GetProperty("sample_size").GetInt32() *
        (1 << (Json(folder, "vae", "config.json").GetProperty("block_out_channels").GetArrayLength() - 1));
}
