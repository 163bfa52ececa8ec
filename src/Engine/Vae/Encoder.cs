using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using Activations = TLoRA.Engine.Common.Activations;

namespace TLoRA.Engine.Vae;

/// <summary>diffusers' VAE <c>Encoder</c>: conv_in → down blocks (all but the last halve the resolution; padding 0) →
/// mid block → conv_norm_out → act → conv_out to 2 · out_channels moments (double_z). Norm epsilons are 1e-6.</summary>
public sealed class Encoder : Module<Tensor, Tensor>
{
    public readonly Conv2d conv_in;
    public readonly ModuleList<DownEncoderBlock2D> down_blocks;
    public readonly UNetMidBlock2D mid_block;
    public readonly GroupNorm conv_norm_out;
    public readonly Conv2d conv_out;

    /// <summary>Builds the encoder of <paramref name="config"/> (out_channels = latent_channels, doubled for the moments).</summary>
    public Encoder(AutoencoderKLConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(Encoder))
    {
        ArgumentNullException.ThrowIfNull(config);
        var channels = config.block_out_channels;
        act_fn = Activations.Check(config.act_fn);
        conv_in = Conv2d(config.in_channels, channels[0], 3, 1, 1, device: device, dtype: dtype);
        down_blocks = new ModuleList<DownEncoderBlock2D>(Enumerable.Range(0, channels.Length).Select(i => new DownEncoderBlock2D(
            i == 0 ? channels[0] : channels[i - 1], channels[i], config.layers_per_block, 1e-6, act_fn, config.norm_num_groups,
            i < channels.Length - 1, 0, 0.0, device: device, dtype: dtype)).ToArray());
        mid_block = new UNetMidBlock2D(channels[^1], null, 1, 1e-6, act_fn, config.norm_num_groups, config.mid_block_add_attention,
            channels[^1], 1.0, 0.0, device: device, dtype: dtype);
        conv_norm_out = Layers.GroupNorm(config.norm_num_groups, channels[^1], 1e-6, true, device: device, dtype: dtype);
        conv_out = Conv2d(channels[^1], 2 * config.latent_channels, 3, 1, 1, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>The activation's name.</summary>
    public string act_fn { get; }

    /// <summary>Encodes images <paramref name="sample"/> (B, in_channels, H, W) to moments (B, 2 · latent, H/f, W/f).</summary>
    public override Tensor forward(Tensor sample)
    {
        using var scope = torch.NewDisposeScope();
        var h = conv_in.Convolve(sample);
        foreach (var block in down_blocks) h = block.call(h);
        h = mid_block.forward(h);
        h = Activations.Apply(act_fn, conv_norm_out.call(h));
        return conv_out.Convolve(h).MoveToOuterDisposeScope();
    }
}
