using TLoRA.Engine.Flux;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;
using R = TLoRA.Engine.Tests.FluxReferenceOutputs;

namespace TLoRA.Engine.Tests.Flux;

/// <summary>FluxTransformer2DModel against diffusers' outputs and intermediates on the FLUX fixture (transformer.*:
/// guidance 3.5, σ = timestep_0 and timestep_1; the dbg.* intermediates belong to timestep_0).</summary>
public sealed class FluxTransformer2DModelTests(FluxTransformerFixture fixture, ITestOutputHelper output) : IClassFixture<FluxTransformerFixture>
{
    private FluxTransformer2DModel Model => fixture.Model;

    private void Check(Tensor expected, Tensor actual, string name) => output.WriteLine(Parity.AssertClose(expected, actual, name).ToString());

    private Tensor Forward(Tensor timestep, Tensor guidance) => Model.forward(R.Read("transformer.hidden_states"),
        R.Read("transformer.encoder_hidden_states"), R.Read("transformer.pooled_projections"), timestep,
        R.Read("transformer.img_ids"), R.Read("transformer.txt_ids"), guidance);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Matches_diffusers_output(int index)
    {
        using var scope = torch.NewDisposeScope();
        var actual = Forward(R.Read($"transformer.timestep_{index}"), R.Read("transformer.guidance"));
        Check(R.Read($"transformer.out_{index}"), actual, $"transformer.out_{index}");
    }

    [Fact]
    public void Batch_of_two_with_per_sample_timesteps_matches_single_runs()
    {
        using var scope = torch.NewDisposeScope();
        Tensor Twice(string name) => torch.cat([R.Read(name), R.Read(name)], 0);
        var timesteps = torch.cat([R.Read("transformer.timestep_0"), R.Read("transformer.timestep_1")], 0);
        var actual = Model.forward(Twice("transformer.hidden_states"), Twice("transformer.encoder_hidden_states"),
            Twice("transformer.pooled_projections"), timesteps, R.Read("transformer.img_ids"), R.Read("transformer.txt_ids"),
            Twice("transformer.guidance"));
        Check(R.Read("transformer.out_0"), actual.narrow(0, 0, 1), "batch[0] (out_0)");
        Check(R.Read("transformer.out_1"), actual.narrow(0, 1, 1), "batch[1] (out_1)");
    }

    [Fact]
    public void Embeddings_match_diffusers_intermediates()
    {
        using var scope = torch.NewDisposeScope();
        Check(R.Read("transformer.dbg.x_embedded"), Model.x_embedder.call(R.Read("transformer.hidden_states")), "dbg.x_embedded");
        Check(R.Read("transformer.dbg.context_embedded"), Model.context_embedder.call(R.Read("transformer.encoder_hidden_states")),
            "dbg.context_embedded");
        var temb = Model.time_embedding(R.Read("transformer.timestep_0"), R.Read("transformer.guidance"), R.Read("transformer.pooled_projections"));
        Check(R.Read("transformer.dbg.temb"), temb, "dbg.temb");
        var (cos, sin) = Model.rotary_embedding(R.Read("transformer.txt_ids"), R.Read("transformer.img_ids"));
        Check(R.Read("transformer.dbg.rope_cos"), cos, "dbg.rope_cos");
        Check(R.Read("transformer.dbg.rope_sin"), sin, "dbg.rope_sin");
    }

    /// <summary>Each block on the reference's own inputs (the previous block's reference output), so an error is
    /// pinned to one block.</summary>
    [Fact]
    public void Every_block_matches_diffusers_on_the_reference_inputs()
    {
        using var scope = torch.NewDisposeScope();
        var temb = R.Read("transformer.dbg.temb");
        var rope = (R.Read("transformer.dbg.rope_cos"), R.Read("transformer.dbg.rope_sin"));
        var h = R.Read("transformer.dbg.x_embedded");
        var context = R.Read("transformer.dbg.context_embedded");
        for (var i = 0; i < Model.transformer_blocks.Count; i++)
        {
            var (c, x) = Model.transformer_blocks[i].forward(h, context, temb, rope);
            (context, h) = (R.Read($"transformer.dbg.block{i}.encoder_hidden_states"), R.Read($"transformer.dbg.block{i}.hidden_states"));
            Check(context, c, $"dbg.block{i}.encoder_hidden_states");
            Check(h, x, $"dbg.block{i}.hidden_states");
        }
        var joint = torch.cat([context, h], 1);
        for (var i = 0; i < Model.single_transformer_blocks.Count; i++)
        {
            var x = Model.single_transformer_blocks[i].forward(joint, temb, rope);
            joint = R.Read($"transformer.dbg.single{i}.hidden_states");
            Check(joint, x, $"dbg.single{i}.hidden_states");
        }
    }

    [Fact]
    public void Config_sizes_are_the_checkpoints()
    {
        var config = Model.config;
        Assert.Equal(config.num_layers, Model.transformer_blocks.Count);
        Assert.Equal(config.num_single_layers, Model.single_transformer_blocks.Count);
        Assert.Equal(config.in_channels, Model.x_embedder.in_features);
        Assert.Equal(config.InnerDim, Model.x_embedder.out_features);
        Assert.Equal(config.OutChannels * config.patch_size * config.patch_size, Model.proj_out.out_features);
        Assert.Equal(config.guidance_embeds, Model.time_text_embed.guidance_embedder is not null);
        Assert.Equal(config.num_attention_heads, Model.transformer_blocks[0].attn.heads);
        Assert.Equal(config.axes_dims_rope.Sum(), Model.transformer_blocks[0].attn.norm_q.dim);
    }

    [Fact]
    public void Guidance_is_required_exactly_when_the_model_embeds_it()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => Forward(R.Read("transformer.timestep_0"), null!));
        Assert.Contains("guidance", e.Message);
    }

    [Fact]
    public void Mismatched_ids_are_refused()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => Model.forward(R.Read("transformer.hidden_states"),
            R.Read("transformer.encoder_hidden_states"), R.Read("transformer.pooled_projections"), R.Read("transformer.timestep_0"),
            R.Read("transformer.img_ids").narrow(0, 1, R.Read("transformer.img_ids").size(0) - 1), R.Read("transformer.txt_ids"),
            R.Read("transformer.guidance")));
        Assert.Contains("positions", e.Message);
    }

    [Fact]
    public void Forward_leaves_no_live_tensors_behind()
    {
        var inputs = new[]
        {
            "transformer.hidden_states", "transformer.encoder_hidden_states", "transformer.pooled_projections", "transformer.timestep_0",
            "transformer.img_ids", "transformer.txt_ids", "transformer.guidance",
        }.Select(R.Read).ToArray(); // outside any scope
        try
        {
            Tensor Run() => Model.forward(inputs[0], inputs[1], inputs[2], inputs[3], inputs[4], inputs[5], inputs[6]);
            using (Run()) { } // warm-up
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var baseline = LiveTensors.Count;
            var result = Run();
            Assert.Equal(baseline + 1, LiveTensors.Count);
            result.Dispose();
            Assert.Equal(baseline, LiveTensors.Count);
        }
        finally
        {
            foreach (var t in inputs) t.Dispose();
        }
    }
}
