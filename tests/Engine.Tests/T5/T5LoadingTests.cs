using System.Text;
using TLoRA.Engine.IO;
using TLoRA.Engine.T5;
using TLoRA.Engine.Tests.Clip;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Tests.T5;

/// <summary>Strict loading, tied embeddings, shards, the config and tensor hygiene of the T5 encoder.</summary>
public sealed class T5LoadingTests
{
    [Fact]
    public void State_dict_keys_are_the_checkpoint_keys_and_embed_tokens_is_shared()
    {
        using var checkpoint = ShardedCheckpoint.OpenComponent(T5Fixture.TextEncoder2);
        using var model = T5EncoderModel.Load(T5Fixture.TextEncoder2);
        Assert.Equal(checkpoint.Names.Order(StringComparer.Ordinal), model.state_dict().Keys.Order(StringComparer.Ordinal));
        Assert.Same(model.shared, model.encoder.embed_tokens);
        Assert.DoesNotContain("encoder.embed_tokens.weight", model.state_dict().Keys);
        Assert.False(model.training);
        Assert.True(model.config.IsGatedAct);
        Assert.Equal("gelu_new", model.config.DenseActFn);
        Assert.IsType<T5DenseGatedActDense>(model.encoder.block[0].feed_forward.DenseReluDense);
    }

    [Fact]
    public void A_missing_key_fails_naming_it()
    {
        using var dir = new TempDir();
        const string key = "encoder.block.1.layer.1.DenseReluDense.wi_1.weight";
        var folder = ClipFixture.EditedCopy(dir, T5Fixture.TextEncoder2, t => Assert.True(t.Remove(key)));
        var e = Assert.Throws<StateDictException>(() => T5EncoderModel.Load(folder));
        Assert.Equal([key], e.Missing);
        Assert.Empty(e.Unexpected);
        Assert.Contains(key, e.Message);
    }

    [Fact]
    public void An_unexpected_key_fails_naming_it()
    {
        using var dir = new TempDir();
        const string key = "encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight";
        var folder = ClipFixture.EditedCopy(dir, T5Fixture.TextEncoder2,
            t => t[key] = t["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"].clone());
        var e = Assert.Throws<StateDictException>(() => T5EncoderModel.Load(folder));
        Assert.Equal([key], e.Unexpected);
        Assert.Empty(e.Missing);
    }

    [Fact]
    public void A_saved_tied_copy_of_the_embedding_is_accepted()
    {
        using var dir = new TempDir();
        var folder = ClipFixture.EditedCopy(dir, T5Fixture.TextEncoder2, t => t["encoder.embed_tokens.weight"] = t["shared.weight"].clone());
        using var model = T5EncoderModel.Load(folder);
        using var reference = T5EncoderModel.Load(T5Fixture.TextEncoder2);
        using var scope = torch.NewDisposeScope();
        var ids = FluxReferenceOutputs.Read("text.t5_ids");
        using var a = model.call(ids);
        using var b = reference.call(ids);
        Parity.AssertClose(b.last_hidden_state, a.last_hidden_state, rel: 0, abs: 0, name: "with tied copy");
    }

    [Fact]
    public void A_sharded_checkpoint_loads_like_the_single_file()
    {
        using var dir = new TempDir();
        var folder = Directory.CreateDirectory(dir.File("text_encoder_2")).FullName;
        File.Copy(Path.Combine(T5Fixture.TextEncoder2, "config.json"), Path.Combine(folder, "config.json"));
        using (var scope = torch.NewDisposeScope())
        using (var checkpoint = ShardedCheckpoint.OpenComponent(T5Fixture.TextEncoder2))
        {
            var tensors = checkpoint.ReadAll();
            var names = checkpoint.Names.ToList();
            var map = new StringBuilder();
            for (var s = 0; s < 2; s++)
            {
                var shard = $"model-0000{s + 1}-of-00002.safetensors";
                var part = names.Where((_, i) => i % 2 == s).ToDictionary(n => n, n => tensors[n]);
                SafetensorsWriter.Save(Path.Combine(folder, shard), part);
                foreach (var n in part.Keys) map.Append(map.Length == 0 ? "" : ",").Append($"\"{n}\":\"{shard}\"");
            }
            File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), $"{{\"metadata\":{{}},\"weight_map\":{{{map}}}}}");
        }
        using var sharded = T5EncoderModel.Load(folder);
        using var single = T5EncoderModel.Load(T5Fixture.TextEncoder2);
        using var ids = FluxReferenceOutputs.Read("text.t5_ids");
        using var a = sharded.call(ids);
        using var b = single.call(ids);
        Parity.AssertClose(b.last_hidden_state, a.last_hidden_state, rel: 0, abs: 0, name: "sharded");
    }

    [Fact]
    public void Forward_frees_everything_but_its_outputs()
    {
        using var model = T5EncoderModel.Load(T5Fixture.TextEncoder2);
        using var ids = FluxReferenceOutputs.Read("text.t5_ids");
        var baseline = LiveTensors();
        var plain = model.call(ids);
        Assert.Equal(baseline + 1, LiveTensors());
        plain.Dispose();
        Assert.Equal(baseline, LiveTensors());
        var full = model.forward(ids, output_hidden_states: true);
        // last_hidden_state, num_layers + 1 hidden states and the position bias.
        Assert.Equal(baseline + model.config.NumLayers + 3, LiveTensors());
        full.Dispose();
        Assert.Equal(baseline, LiveTensors());
        using (var scope = torch.NewDisposeScope()) model.encoder.block[0].self_attention.SelfAttention.compute_bias(4, 4);
        Assert.Equal(baseline, LiveTensors());
    }

    [Fact]
    public void Loading_and_disposing_the_model_frees_every_tensor()
    {
        var baseline = LiveTensors();
        using (var model = T5EncoderModel.Load(T5Fixture.TextEncoder2))
            Assert.True(LiveTensors() > baseline);
        Assert.Equal(baseline, LiveTensors());
    }

    [Fact]
    public void Original_t5_configs_build_the_ungated_feed_forward_and_bad_ones_are_refused()
    {
        var config = new T5Config { VocabSize = 16, DModel = 8, DKv = 2, DFf = 12, NumLayers = 2, NumHeads = 4 };
        using (var model = new T5EncoderModel(config))
        {
            Assert.Equal("relu", config.DenseActFn);
            Assert.IsType<T5DenseActDense>(model.encoder.block[1].feed_forward.DenseReluDense);
            Assert.Contains("encoder.block.1.layer.1.DenseReluDense.wi.weight", model.state_dict().Keys);
            model.eval();
            using var scope = torch.NewDisposeScope();
            using var result = model.call(torch.tensor(new long[] { 3, 5, 1 }, 1, 3));
            Assert.Equal([1, 3, 8], result.last_hidden_state.shape);
        }
        Assert.Throws<InvalidDataException>(() => new T5EncoderModel(config with { FeedForwardProj = "gated-swishy" }));
        Assert.Throws<InvalidDataException>(() => new T5EncoderModel(config with { FeedForwardProj = "fancy-gelu" }));
        Assert.Throws<InvalidDataException>(() => new T5EncoderModel(config with { NumHeads = 0 }));
    }

    [Fact]
    public void Bfloat16_runs_close_to_float32()
    {
        using var model = T5EncoderModel.Load(T5Fixture.TextEncoder2, ScalarType.BFloat16);
        using var scope = torch.NewDisposeScope();
        using var result = model.call(FluxReferenceOutputs.Read("text.t5_ids"));
        Assert.Equal(ScalarType.BFloat16, result.last_hidden_state.dtype);
        Parity.AssertClose(FluxReferenceOutputs.Read("text.t5_last_hidden_state"), result.last_hidden_state, rel: 5e-2, abs: 0, name: "bf16");
    }

    private static long LiveTensors() => Tests.LiveTensors.Count;
}
