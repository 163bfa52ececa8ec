using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Common;

/// <summary>diffusers' <c>Downsample2D</c> with <c>use_conv=True</c>: a stride-2 3×3 <c>conv</c>. With padding 0 (the
/// VAE encoder) the input is first padded by one on the right and bottom, as diffusers does.</summary>
public sealed class Downsample2D : Module<Tensor, Tensor>
{
    public readonly Conv2d conv;

    /// <param name="channels">Input channels.</param>
    /// <param name="out_channels">Output channels (default: channels).</param>
    /// <param name="padding">Padding of the convolution (UNet: downsample_padding, 1; VAE encoder: 0).</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public Downsample2D(long channels, long? out_channels = null, long padding = 1, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(Downsample2D))
    {
        this.padding = padding;
        conv = Conv2d(channels, out_channels ?? channels, 3, 2, padding, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>The convolution's padding.</summary>
    public long padding { get; }

    /// <summary>Halves the spatial size of <paramref name="input"/> (B, C, H, W).</summary>
    public override Tensor forward(Tensor input)
    {
        if (padding != 0) return conv.Convolve(input);
        using var scope = torch.NewDisposeScope();
        return conv.Convolve(functional.pad(input, [0, 1, 0, 1])).MoveToOuterDisposeScope();
    }
}
