using System.Text.Json;
using TLoRA.Engine.Flux;
using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Tests.Flux;

/// <summary>Loading the FLUX transformer: strict keys, sharded checkpoints, config checks.</summary>
public sealed class FluxTransformerLoadingTests
{
    private static string Folder => FluxTransformerFixture.Folder;

    [Fact]
    public void Strict_loading_names_a_missing_key()
    {
        using var dir = new TempDir();
        const string dropped = "single_transformer_blocks.0.attn.norm_k.weight";
        File.Copy(Path.Combine(Folder, "config.json"), dir.File("config.json"));
        using (var scope = torch.NewDisposeScope())
        {
            using var checkpoint = ShardedCheckpoint.OpenComponent(Folder);
            var tensors = checkpoint.ReadAll();
            Assert.True(tensors.Remove(dropped));
            SafetensorsWriter.Save(dir.File("diffusion_pytorch_model.safetensors"), tensors);
        }
        var e = Assert.Throws<StateDictException>(() => FluxTransformer2DModel.Load(dir.Path).Dispose());
        Assert.Equal([dropped], e.Missing);
        Assert.Empty(e.Unexpected);
        Assert.Contains(dropped, e.Message);
    }

    /// <summary>FLUX.1-dev ships transformer/ as shards with diffusion_pytorch_model.safetensors.index.json.</summary>
    [Fact]
    public void Loads_a_sharded_checkpoint_like_the_single_file()
    {
        using var dir = new TempDir();
        File.Copy(Path.Combine(Folder, "config.json"), dir.File("config.json"));
        using (var scope = torch.NewDisposeScope())
        {
            using var checkpoint = ShardedCheckpoint.OpenComponent(Folder);
            var tensors = checkpoint.ReadAll();
            var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();
            var shards = new[] { names.Take(names.Count / 2).ToList(), names.Skip(names.Count / 2).ToList() };
            var map = new Dictionary<string, string>();
            for (var i = 0; i < shards.Length; i++)
            {
                var file = $"diffusion_pytorch_model-{i + 1:00000}-of-{shards.Length:00000}.safetensors";
                SafetensorsWriter.Save(dir.File(file), shards[i].ToDictionary(n => n, n => tensors[n]));
                foreach (var n in shards[i]) map[n] = file;
            }
            File.WriteAllText(dir.File("diffusion_pytorch_model.safetensors.index.json"),
                JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map }));
        }
        using var single = FluxTransformer2DModel.Load(Folder);
        using var sharded = FluxTransformer2DModel.Load(dir.Path);
        var expected = single.state_dict();
        var actual = sharded.state_dict();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, t) in expected) Assert.True(torch.allclose(t, actual[name], 0, 0), $"{name} differs");
    }

    [Fact]
    public void Config_with_rope_axes_not_summing_to_the_head_dim_is_refused()
    {
        var config = new FluxTransformer2DModelConfig { attention_head_dim = 16, num_attention_heads = 2, axes_dims_rope = [4, 6, 4] };
        var e = Assert.Throws<InvalidDataException>(() => new FluxTransformer2DModel(config).Dispose());
        Assert.Contains("axes_dims_rope", e.Message);
    }
}
