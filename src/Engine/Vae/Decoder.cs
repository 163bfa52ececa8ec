using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using Activations = TLoRA.Engine.Common.Activations;

namespace TLoRA.Engine.Vae;

/// <summary>diffusers' VAE <c>Decoder</c>: conv_in → mid block → up blocks over the reversed channels (layers_per_block
/// + 1 resnets each; all but the last double the resolution) → conv_norm_out → act → conv_out. Norm epsilons are 1e-6.</summary>
public sealed class Decoder : Module<Tensor, Tensor>
{
    public readonly Conv2d conv_in;
    public readonly ModuleList<UpDecoderBlock2D> up_blocks;
    public readonly UNetMidBlock2D mid_block;
    public readonly GroupNorm conv_norm_out;
    public readonly Conv2d conv_out;

    /// <summary>Builds the decoder of <paramref name="config"/> (in_channels = latent_channels).</summary>
    public Decoder(AutoencoderKLConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(Decoder))
    {
        ArgumentNullException.ThrowIfNull(config);
        var channels = config.block_out_channels;
        var reversed = channels.Reverse().ToArray();
        act_fn = Activations.Check(config.act_fn);
        conv_in = Conv2d(config.latent_channels, channels[^1], 3, 1, 1, device: device, dtype: dtype);
        mid_block = new UNetMidBlock2D(channels[^1], null, 1, 1e-6, act_fn, config.norm_num_groups, config.mid_block_add_attention,
            channels[^1], 1.0, 0.0, device: device, dtype: dtype);
        up_blocks = new ModuleList<UpDecoderBlock2D>(Enumerable.Range(0, reversed.Length).Select(i => new UpDecoderBlock2D(
            i == 0 ? reversed[0] : reversed[i - 1], reversed[i], config.layers_per_block + 1, 1e-6, act_fn, config.norm_num_groups,
            i < reversed.Length - 1, 0.0, device: device, dtype: dtype)).ToArray());
        conv_norm_out = Layers.GroupNorm(config.norm_num_groups, channels[0], 1e-6, true, device: device, dtype: dtype);
        conv_out = Conv2d(channels[0], config.out_channels, 3, 1, 1, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>The activation's name.</summary>
    public string act_fn { get; }

    /// <summary>Decodes latents <paramref name="z"/> (B, latent, h, w) to images (B, out_channels, h·f, w·f).</summary>
    public override Tensor forward(Tensor z)
    {
        using var scope = torch.NewDisposeScope();
        var h = conv_in.Convolve(z);
        h = mid_block.forward(h);
        // diffusers casts to the up blocks' dtype here (they may differ after partial upcasting).
        var upDtype = up_blocks[0].resnets[0].conv1.weight.dtype;
        if (h.dtype != upDtype) h = h.to(upDtype);
        foreach (var block in up_blocks) h = block.call(h);
        h = Activations.Apply(act_fn, conv_norm_out.call(h));
        return conv_out.Convolve(h).MoveToOuterDisposeScope();
    }
}
