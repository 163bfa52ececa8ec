using TLoRA.Engine.Unet;
using TLoRA.Engine.Vae;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Common;

/// <summary>Convolutions over input channels that are not a multiple of <see cref="OneDnn.ChannelBlock"/> run without
/// oneDNN: its forward read memory it never wrote and returned NaN whenever that memory held a NaN (see
/// <see cref="OneDnn"/>). With oneDNN on, the first test failed in every call on the dev VM (AMD EPYC, AVX-512).</summary>
public sealed class OneDnnConvolutionTests
{
    private static bool OptedIn => Environment.GetEnvironmentVariable("TLORA_ONEDNN") == "1";

    /// <summary>Fills freed memory with NaN: NaN-filled tensors of assorted sizes, made and freed, so the allocator
    /// hands that memory out next.</summary>
    private static void PoisonFreedMemory(long size)
    {
        for (var k = 1; k < 6; k++) torch.full([k * 10_000 + size % 97 * 7], float.NaN).Dispose();
        torch.full([size], float.NaN).Dispose();
    }

    [Theory]
    [InlineData(24, 1)]
    [InlineData(40, 1)]
    [InlineData(40, 2)]
    [InlineData(120, 1)]
    public void Unaligned_channels_give_finite_outputs_equal_to_the_kernel_without_oneDNN(int channels, int stride)
    {
        if (OptedIn) return;
        Assert.NotEqual(0, channels % OneDnn.ChannelBlock); // the case under test
        using var scope = torch.NewDisposeScope();
        const int size = 32; // oneDNN misread at 31² to 64², not at 8² or 16²
        using var conv = torch.nn.Conv2d(channels, channels, 3, stride, 1);
        var x = torch.randn([1, channels, size, size], generator: new Generator(3));
        Tensor expected;
        using (OneDnn.Off()) expected = conv.call(x);
        Assert.True(torch.isfinite(expected).all().item<bool>());
        for (var i = 0; i < 20; i++)
        {
            using var step = torch.NewDisposeScope();
            PoisonFreedMemory(2L * channels * size * size + i);
            var y = conv.Convolve(x);
            Assert.True(torch.isfinite(y).all().item<bool>(), $"call {i}: non-finite output");
            Assert.True(y.eq(expected).all().item<bool>(), $"call {i}: differs from the kernel without oneDNN");
        }
    }

    /// <summary>Every Conv2d of a UNet and a VAE with unaligned widths runs through <see cref="OneDnn.Convolve"/>: a
    /// pre-hook on each (it runs inside the module's call, right before its forward) records whether oneDNN was off.</summary>
    [Fact]
    public void Every_convolution_of_the_models_over_unaligned_channels_runs_without_oneDNN()
    {
        if (OptedIn) return;
        using var scope = torch.NewDisposeScope();
        using var unet = new UNet2DConditionModel(new UNet2DConditionModelConfig
        {
            sample_size = 8, in_channels = 4, out_channels = 4,
            down_block_types = ["CrossAttnDownBlock2D", "DownBlock2D"], up_block_types = ["UpBlock2D", "CrossAttnUpBlock2D"],
            block_out_channels = [24, 40], layers_per_block = 1, norm_num_groups = 8, cross_attention_dim = 12,
            attention_head_dim = new PerBlock<int>(2), use_linear_projection = false, // conv proj_in / proj_out
        });
        using var vae = new AutoencoderKL(new AutoencoderKLConfig
        {
            down_block_types = ["DownEncoderBlock2D", "DownEncoderBlock2D"], up_block_types = ["UpDecoderBlock2D", "UpDecoderBlock2D"],
            block_out_channels = [24, 40], norm_num_groups = 8,
        });
        var seen = new List<(string Name, long Channels, bool? OneDnn)>();
        var hooks = new List<Action>(); // each removes its hook
        foreach (var (prefix, model) in new (string, nn.Module)[] { ("unet", unet), ("vae", vae) })
            foreach (var (name, module) in model.named_modules())
                if (module is Conv2d conv)
                {
                    var label = $"{prefix}.{name}";
                    var hook = conv.register_forward_pre_hook((_, input) =>
                    {
                        seen.Add((label, conv.weight!.size(1), OneDnn.Enabled));
                        return input;
                    });
                    hooks.Add(hook.remove);
                }
        try
        {
            using (torch.no_grad())
            {
                unet.forward(torch.randn([1, 4, 8, 8]), torch.tensor(new long[] { 500 }), torch.randn([1, 5, 12]));
                vae.forward(torch.randn([1, 3, 16, 16]));
            }
        }
        finally
        {
            foreach (var remove in hooks) remove();
        }
        var convs = unet.named_modules().Count(m => m.module is Conv2d) + vae.named_modules().Count(m => m.module is Conv2d);
        Assert.Equal(convs, seen.Select(s => s.Name).Distinct().Count()); // every convolution ran
        var unaligned = seen.Where(s => s.Channels % OneDnn.ChannelBlock != 0).ToList();
        Assert.Contains(unaligned, s => s.Name.Contains("proj_in")); // the widths reach every kind of conv
        Assert.Contains(unaligned, s => s.Name.Contains("downsamplers"));
        Assert.Contains(unaligned, s => s.Name.Contains("upsamplers"));
        Assert.Contains(unaligned, s => s.Name.Contains("conv_shortcut"));
        Assert.All(unaligned, s => Assert.False(s.OneDnn, $"{s.Name} ({s.Channels} input channels) ran with oneDNN on"));
    }
}
