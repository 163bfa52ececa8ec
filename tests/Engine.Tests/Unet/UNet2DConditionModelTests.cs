using TLoRA.Engine;
using TLoRA.Engine.IO;
using TLoRA.Engine.Tests.Common;
using TLoRA.Engine.Unet;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using Xunit.Abstractions;

namespace TLoRA.Engine.Tests.Unet;

/// <summary>The fixture's UNet, loaded once for the parity tests.</summary>
public sealed class SdxlUnetFixture : IDisposable
{
    public SdxlUnetFixture() => Model = UNet2DConditionModel.Load(Folder);

    public static string Folder => Path.Combine(FixturePaths.SdxlTiny, "unet");

    public UNet2DConditionModel Model { get; }

    public void Dispose() => Model.Dispose();
}

/// <summary>UNet2DConditionModel against diffusers' outputs on the SD-XL fixture, plus loading and memory behaviour.</summary>
public sealed class UNet2DConditionModelTests(SdxlUnetFixture fixture, ITestOutputHelper output) : IClassFixture<SdxlUnetFixture>
{
    private UNet2DConditionModel Unet => fixture.Model;

    /// <summary>The timestep in three accepted forms: int64 [B], float scalar [], float32 [1].</summary>
    private static Tensor Timestep(int t, int form) => form switch
    {
        0 => torch.tensor(new long[] { t }),
        1 => torch.tensor(t, ScalarType.Float32),
        _ => torch.tensor(new float[] { t }),
    };

    [Theory]
    [InlineData(999, 0)]
    [InlineData(500, 1)]
    [InlineData(1, 2)]
    public void Matches_diffusers_noise_prediction(int t, int form)
    {
        using var scope = torch.NewDisposeScope();
        var expected = ReferenceOutputs.Read($"unet.out_t{t}");
        var actual = Unet.forward(ReferenceOutputs.Read("unet.sample"), Timestep(t, form), ReferenceOutputs.Read("text.prompt_embeds"),
            ReferenceOutputs.Read("text.pooled"), ReferenceOutputs.Read("unet.time_ids"));
        output.WriteLine($"unet.out_t{t}: max relative error {ReferenceOutputs.RelativeError(expected, actual):E3}");
        Parity.AssertClose(expected, actual, $"unet.out_t{t}");
    }

    [Fact]
    public void Batch_of_two_with_per_sample_timesteps_matches_single_runs()
    {
        using var scope = torch.NewDisposeScope();
        var sample = ReferenceOutputs.Read("unet.sample");
        var context = ReferenceOutputs.Read("text.prompt_embeds");
        var pooled = ReferenceOutputs.Read("text.pooled");
        var ids = ReferenceOutputs.Read("unet.time_ids");
        var batched = Unet.forward(torch.cat([sample, sample], 0), torch.tensor(new long[] { 999, 1 }), torch.cat([context, context], 0),
            torch.cat([pooled, pooled], 0), torch.cat([ids, ids], 0));
        Parity.AssertClose(ReferenceOutputs.Read("unet.out_t999"), batched.narrow(0, 0, 1), "batch[0] (t=999)");
        Parity.AssertClose(ReferenceOutputs.Read("unet.out_t1"), batched.narrow(0, 1, 1), "batch[1] (t=1)");
    }

    [Fact]
    public void Config_quirks_are_read_as_diffusers_reads_them()
    {
        var config = Unet.config;
        Assert.Equal(config.attention_head_dim!.Expand(config.BlockCount, "attention_head_dim"), config.HeadsPerBlock());
        var attn = (CrossAttnDownBlock2D)Unet.down_blocks[1];
        var heads = config.HeadsPerBlock()[1];
        Assert.Equal(heads, attn.attentions[0].transformer_blocks[0].attn1.heads);
        Assert.Equal(config.transformer_layers_per_block[1][0], attn.attentions[0].transformer_blocks.Count);
        // Up block i uses the down blocks' settings in reverse.
        var upIndex = config.BlockCount - 2;
        if (Unet.up_blocks[upIndex] is CrossAttnUpBlock2D up)
        {
            Assert.Equal(config.transformer_layers_per_block[1][0], up.attentions[0].transformer_blocks.Count);
            Assert.Equal(config.layers_per_block[1] + 1, up.resnets.Count);
        }
    }

    [Fact]
    public void Latent_sizes_not_divisible_by_the_upsampling_factor_come_back_at_input_size()
    {
        using var scope = torch.NewDisposeScope();
        var context = ReferenceOutputs.Read("text.prompt_embeds");
        var sample = torch.randn([1, Unet.config.in_channels, 5, 7], generator: new Generator(9));
        var prediction = Unet.forward(sample, torch.tensor(10.0), context, ReferenceOutputs.Read("text.pooled"),
            ReferenceOutputs.Read("unet.time_ids"));
        Assert.Equal(new long[] { 1, Unet.config.out_channels, 5, 7 }, prediction.shape);
    }

    [Fact]
    public void Forward_leaves_no_live_tensors_behind()
    {
        using var inputs = new Inputs();
        using (Unet.forward(inputs.Sample, inputs.Timestep, inputs.Context, inputs.Pooled, inputs.TimeIds)) { } // warm-up
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var baseline = LiveTensors.Count;
        var result = Unet.forward(inputs.Sample, inputs.Timestep, inputs.Context, inputs.Pooled, inputs.TimeIds);
        Assert.Equal(baseline + 1, LiveTensors.Count);
        result.Dispose();
        Assert.Equal(baseline, LiveTensors.Count);
    }

    [Fact]
    public void Strict_loading_names_a_missing_key()
    {
        using var dir = new TempDir();
        const string dropped = "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight";
        File.Copy(Path.Combine(SdxlUnetFixture.Folder, "config.json"), dir.File("config.json"));
        using (var scope = torch.NewDisposeScope())
        {
            using var checkpoint = ShardedCheckpoint.OpenComponent(SdxlUnetFixture.Folder);
            var tensors = checkpoint.ReadAll();
            Assert.True(tensors.Remove(dropped));
            SafetensorsWriter.Save(dir.File("diffusion_pytorch_model.safetensors"), tensors);
        }
        var e = Assert.Throws<StateDictException>(() => UNet2DConditionModel.Load(dir.Path).Dispose());
        Assert.Equal([dropped], e.Missing);
        Assert.Contains(dropped, e.Message);
    }

    [Fact]
    public void Gradients_reach_adapters_through_the_frozen_unet()
    {
        var adapters = Unet.attention_layers().Select(a => (a.attention, adapter: new LoraAdapter(a.attention, 2))).ToList();
        Unet.requires_grad_(false);
        try
        {
            foreach (var (attention, adapter) in adapters) attention.SetAdapter(adapter);
            using var scope = torch.NewDisposeScope();
            var prediction = Unet.forward(ReferenceOutputs.Read("unet.sample"), torch.tensor(new long[] { 700 }),
                ReferenceOutputs.Read("text.prompt_embeds"), ReferenceOutputs.Read("text.pooled"), ReferenceOutputs.Read("unet.time_ids"));
            Assert.True(prediction.requires_grad);
            OneDnn.Backward(prediction.square().mean());
            foreach (var (name, p) in adapters.SelectMany(a => a.adapter.named_parameters()))
            {
                Assert.True(p.grad is not null, $"{name} has no gradient");
                Assert.True(p.grad!.abs().amax().ItemDouble() > 0, $"{name} has an all-zero gradient");
            }
            Assert.All(Unet.parameters().Where(p => adapters.All(a => !a.adapter.parameters().Contains(p))), p => Assert.Null(p.grad));
        }
        finally
        {
            foreach (var (attention, adapter) in adapters)
            {
                attention.SetAdapter(null);
                adapter.Dispose();
            }
            Unet.requires_grad_(true);
        }
    }

    [Fact]
    public void Requires_text_time_conditioning()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => Unet.forward(ReferenceOutputs.Read("unet.sample"), torch.tensor(1.0),
            ReferenceOutputs.Read("text.prompt_embeds")));
        Assert.Contains("text_embeds", e.Message);
    }

    /// <summary>Inputs held outside any dispose scope.</summary>
    private sealed class Inputs : IDisposable
    {
        public Tensor Sample { get; } = ReferenceOutputs.Read("unet.sample");
        public Tensor Timestep { get; } = torch.tensor(500.0);
        public Tensor Context { get; } = ReferenceOutputs.Read("text.prompt_embeds");
        public Tensor Pooled { get; } = ReferenceOutputs.Read("text.pooled");
        public Tensor TimeIds { get; } = ReferenceOutputs.Read("unet.time_ids");

        public void Dispose()
        {
            foreach (var t in new[] { Sample, Timestep, Context, Pooled, TimeIds }) t.Dispose();
        }
    }
}
