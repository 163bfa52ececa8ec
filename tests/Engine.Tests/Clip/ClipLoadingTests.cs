using TLoRA.Engine.Clip;
using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Tests.Clip;

/// <summary>Strict loading, the state-dict layout and tensor hygiene of the CLIP text encoders.</summary>
public sealed class ClipLoadingTests
{
    private static int Positions =>
        FixtureFacts.Json(ClipFixture.TextEncoder2, "config.json").GetProperty("max_position_embeddings").GetInt32();

    [Fact]
    public void State_dict_keys_are_the_checkpoint_keys_and_position_ids_is_not_persistent()
    {
        foreach (var folder in new[] { ClipFixture.TextEncoder, ClipFixture.TextEncoder2 })
        {
            using var checkpoint = ShardedCheckpoint.OpenComponent(folder);
            using Module model = folder == ClipFixture.TextEncoder ? CLIPTextModel.Load(folder) : CLIPTextModelWithProjection.Load(folder);
            Assert.Equal(checkpoint.Names.Order(StringComparer.Ordinal), model.state_dict().Keys.Order(StringComparer.Ordinal));
            Assert.False(checkpoint.Contains("text_model.embeddings.position_ids"));
            Assert.Empty(model.named_buffers()); // position ids are made per call, never stored
            Assert.False(model.training);
        }
    }

    [Fact]
    public void A_missing_key_fails_naming_it()
    {
        using var dir = new TempDir();
        const string key = "text_model.encoder.layers.0.self_attn.q_proj.weight";
        var folder = ClipFixture.EditedCopy(dir, ClipFixture.TextEncoder, t =>
        {
            Assert.True(t.Remove(key));
        });
        var e = Assert.Throws<StateDictException>(() => CLIPTextModel.Load(folder));
        Assert.Equal([key], e.Missing);
        Assert.Empty(e.Unexpected);
        Assert.Contains(key, e.Message);
    }

    [Fact]
    public void An_unexpected_key_fails_naming_it()
    {
        using var dir = new TempDir();
        const string key = "text_model.extra_projection.weight";
        var folder = ClipFixture.EditedCopy(dir, ClipFixture.TextEncoder2, t => t[key] = torch.zeros(2, 2));
        var e = Assert.Throws<StateDictException>(() => CLIPTextModelWithProjection.Load(folder));
        Assert.Equal([key], e.Unexpected);
        Assert.Empty(e.Missing);
        Assert.Contains(key, e.Message);
    }

    [Fact]
    public void Older_exports_with_a_saved_position_ids_buffer_still_load()
    {
        using var dir = new TempDir();
        var folder = ClipFixture.EditedCopy(dir, ClipFixture.TextEncoder2,
            t => t["text_model.embeddings.position_ids"] = torch.arange(Positions).view(1, Positions));
        using var model = CLIPTextModelWithProjection.Load(folder);
        Assert.DoesNotContain("text_model.embeddings.position_ids", model.state_dict().Keys);
    }

    [Fact]
    public void A_mis_shaped_key_fails_naming_it()
    {
        using var dir = new TempDir();
        const string key = "text_projection.weight";
        var folder = ClipFixture.EditedCopy(dir, ClipFixture.TextEncoder2, t => t[key] = t[key].narrow(0, 0, t[key].size(0) - 1));
        var e = Assert.Throws<StateDictException>(() => CLIPTextModelWithProjection.Load(folder));
        Assert.Single(e.Misshaped);
        Assert.Contains(key, e.Message);
    }

    [Fact]
    public void The_projection_model_needs_its_projection_and_the_plain_model_refuses_it()
    {
        var e = Assert.Throws<StateDictException>(() => CLIPTextModel.Load(ClipFixture.TextEncoder2));
        Assert.Equal(["text_projection.weight"], e.Unexpected);
        e = Assert.Throws<StateDictException>(() => CLIPTextModelWithProjection.Load(ClipFixture.TextEncoder));
        Assert.Equal(["text_projection.weight"], e.Missing);
    }

    [Fact]
    public void Forward_returns_fresh_tensors_and_frees_everything_else()
    {
        using var te1 = CLIPTextModel.Load(ClipFixture.TextEncoder);
        using var te2 = CLIPTextModelWithProjection.Load(ClipFixture.TextEncoder2);
        using var ids = ClipFixture.Reference("text.ids");
        using var ids2 = ClipFixture.Reference("text.ids_2");
        var baseline = LiveTensors();
        var out1 = te1.call(ids);
        var out2 = te2.call(ids2);
        // last_hidden_state, pooler_output and L + 1 hidden states (+ text_embeds): nothing else survives the forward.
        Assert.Equal(baseline + (te1.config.NumHiddenLayers + 3) + (te2.config.NumHiddenLayers + 4), LiveTensors());
        out1.Dispose();
        out2.Dispose();
        Assert.Equal(baseline, LiveTensors());

        var t1 = Tokenizers.CLIPTokenizer.Load(ClipFixture.Tokenizer);
        var t2 = Tokenizers.CLIPTokenizer.Load(ClipFixture.Tokenizer2);
        var encoder = new SdxlPromptEncoder(t1, t2, te1, te2, force_zeros_for_empty_prompt: false);
        var embeds = encoder.Encode(ClipFixture.Prompt);
        Assert.Equal(baseline + 4, LiveTensors());
        embeds.Dispose();
        Assert.Equal(baseline, LiveTensors());
    }

    [Fact]
    public void Loading_and_disposing_a_model_frees_every_tensor()
    {
        var baseline = LiveTensors();
        using (var encoder = SdxlPromptEncoder.Load(FixturePaths.SdxlTiny))
        using (var embeds = encoder.Encode(ClipFixture.Prompt))
            Assert.True(LiveTensors() > baseline);
        Assert.Equal(baseline, LiveTensors());
    }

    [Fact]
    public void A_sequence_longer_than_the_position_table_is_refused()
    {
        using var model = CLIPTextModel.Load(ClipFixture.TextEncoder);
        using var scope = torch.NewDisposeScope();
        var ids = torch.zeros([1, model.config.MaxPositionEmbeddings + 1], ScalarType.Int64);
        var e = Assert.Throws<ArgumentException>(() => model.call(ids));
        Assert.Contains("max_position_embeddings", e.Message);
    }

    private static long LiveTensors() => Tests.LiveTensors.Count;
}
