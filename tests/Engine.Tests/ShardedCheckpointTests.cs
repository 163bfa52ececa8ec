using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests;

public sealed class ShardedCheckpointTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private const string Shard1 = "model-00001-of-00002.safetensors";
    private const string Shard2 = "model-00002-of-00002.safetensors";

    private void WriteShards()
    {
        using var scope = torch.NewDisposeScope();
        SafetensorsWriter.Save(dir.File(Shard1), new Dictionary<string, Tensor>
        {
            ["encoder.a"] = torch.tensor(new[] { 1f, 2f }),
            ["encoder.b"] = torch.tensor(new[] { 3L, 4L, 5L }),
        });
        SafetensorsWriter.Save(dir.File(Shard2), new Dictionary<string, Tensor>
        {
            ["decoder.c"] = torch.tensor(new[] { 6f }).to(ScalarType.BFloat16),
        });
    }

    private string WriteIndex(string name, string weightMap) =>
        dir.Write(name, System.Text.Encoding.UTF8.GetBytes($"{{\"metadata\":{{\"total_size\":18,\"format\":\"pt\"}},\"weight_map\":{{{weightMap}}}}}"));

    private static string Map(string tensor, string shard) => $"\"{tensor}\":\"{shard}\"";

    private string GoodIndex(string name = "model.safetensors.index.json") =>
        WriteIndex(name, string.Join(",", Map("encoder.a", Shard1), Map("decoder.c", Shard2), Map("encoder.b", Shard1)));

    [Fact]
    public void Opens_and_reads_through_the_index()
    {
        WriteShards();
        using var scope = torch.NewDisposeScope();
        using var ckpt = ShardedCheckpoint.Open(GoodIndex());
        Assert.True(ckpt.IsSharded);
        Assert.Equal(2, ckpt.Files.Count);
        Assert.Equal(["encoder.a", "decoder.c", "encoder.b"], ckpt.Names);
        Assert.Equal("18", ckpt.Metadata["total_size"]);
        Assert.Equal("pt", ckpt.Metadata["format"]);
        Assert.EndsWith(Shard2, ckpt.FileOf("decoder.c").Path);
        Assert.Equal(ScalarType.BFloat16, ckpt.Entry("decoder.c").Dtype);

        var all = ckpt.ReadAll();
        Assert.Equal(3, all.Count);
        Assert.Equal(new[] { 1f, 2f }, all["encoder.a"].ToArray<float>());
        Assert.Equal(new[] { 3L, 4L, 5L }, all["encoder.b"].ToArray<long>());
        Assert.Equal(new[] { 6f }, all["decoder.c"].ToArray<float>());
        Assert.Equal(new[] { 3L, 4L, 5L }, ckpt.Read("encoder.b").ToArray<long>());

        var e = Assert.Throws<KeyNotFoundException>(() => ckpt.Read("nope"));
        Assert.Contains("model.safetensors.index.json", e.Message);
        Assert.Contains("'nope'", e.Message);
    }

    [Fact]
    public void Missing_shard_is_named_with_the_index()
    {
        WriteShards();
        File.Delete(dir.File(Shard2));
        var index = GoodIndex();
        var e = Assert.Throws<SafetensorsException>(() => ShardedCheckpoint.Open(index).Dispose());
        Assert.Contains("model.safetensors.index.json", e.Message);
        Assert.Contains(Shard2, e.Message);
        Assert.Contains("'decoder.c'", e.Message);
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void Tensor_missing_from_its_shard()
    {
        WriteShards();
        var index = WriteIndex("x.safetensors.index.json", string.Join(",", Map("encoder.a", Shard1), Map("decoder.c", Shard1)));
        var e = Assert.Throws<SafetensorsException>(() => ShardedCheckpoint.Open(index).Dispose());
        Assert.Contains("x.safetensors.index.json", e.Message);
        Assert.Contains("'decoder.c'", e.Message);
        Assert.Contains(Shard1, e.Message);
    }

    [Theory]
    [InlineData("{\"metadata\":{}}", "weight_map")]
    [InlineData("{\"weight_map\":", "not valid JSON")]
    [InlineData("{\"weight_map\":{\"a\":\"../outside.safetensors\"}}", "not a file name")]
    [InlineData("{\"weight_map\":{\"a\":7}}", "not a file name")]
    public void Bad_index(string json, string expected)
    {
        var index = dir.Write("bad.safetensors.index.json", System.Text.Encoding.UTF8.GetBytes(json));
        var e = Assert.Throws<SafetensorsException>(() => ShardedCheckpoint.Open(index).Dispose());
        Assert.Contains("bad.safetensors.index.json", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Corrupt_shard_is_reported_with_its_own_name()
    {
        WriteShards();
        File.WriteAllBytes(dir.File(Shard2), [1, 2, 3]);
        var e = Assert.Throws<SafetensorsException>(() => ShardedCheckpoint.Open(GoodIndex()).Dispose());
        Assert.Contains(Shard2, e.Message);
    }

    [Fact]
    public void Single_file_opens_as_a_checkpoint()
    {
        WriteShards();
        using var ckpt = ShardedCheckpoint.Open(dir.File(Shard1));
        Assert.False(ckpt.IsSharded);
        Assert.Equal(["encoder.a", "encoder.b"], ckpt.Names);
    }

    [Fact]
    public void OpenComponent_finds_single_files_indexes_and_variants()
    {
        WriteShards();
        GoodIndex();
        using (var sharded = ShardedCheckpoint.OpenComponent(dir.Path))
        {
            Assert.True(sharded.IsSharded);
            Assert.EndsWith("model.safetensors.index.json", sharded.Path);
        }

        File.Copy(dir.File(Shard2), dir.File("diffusion_pytorch_model.safetensors"));
        using (var single = ShardedCheckpoint.OpenComponent(dir.Path))
        {
            Assert.False(single.IsSharded);
            Assert.Equal(["decoder.c"], single.Names);
        }

        File.Copy(dir.File(Shard1), dir.File("model.fp16.safetensors"));
        using (var variant = ShardedCheckpoint.OpenComponent(dir.Path, "fp16"))
            Assert.Equal(["encoder.a", "encoder.b"], variant.Names);
    }

    [Fact]
    public void OpenComponent_lists_what_it_looked_for()
    {
        var empty = Directory.CreateDirectory(Path.Combine(dir.Path, "unet")).FullName;
        var e = Assert.Throws<SafetensorsException>(() => ShardedCheckpoint.OpenComponent(empty));
        Assert.Contains("unet", e.Message);
        foreach (var name in new[] { "diffusion_pytorch_model.safetensors", "model.safetensors",
                     "diffusion_pytorch_model.safetensors.index.json", "model.safetensors.index.json" })
            Assert.Contains(name, e.Message);

        var missing = Assert.Throws<SafetensorsException>(() => ShardedCheckpoint.OpenComponent(Path.Combine(dir.Path, "vae")));
        Assert.Contains("does not exist", missing.Message);
    }
}
