using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Common;

/// <summary>diffusers' <c>Upsample2D</c> with <c>use_conv=True</c>: nearest-neighbour ×2 (or to a given size) then a
/// 3×3 <c>conv</c>. bfloat16 input is interpolated in float32, as diffusers does (nearest upsampling lacks bf16 kernels
/// on some PyTorch versions; the values are unchanged either way).</summary>
public sealed class Upsample2D : Module<Tensor, Tensor>
{
    public readonly Conv2d conv;

    /// <param name="channels">Input channels.</param>
    /// <param name="out_channels">Output channels (default: channels).</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public Upsample2D(long channels, long? out_channels = null, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(Upsample2D))
    {
        conv = Conv2d(channels, out_channels ?? channels, 3, 1, 1, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>Doubles the spatial size of <paramref name="input"/>.</summary>
    public override Tensor forward(Tensor input) => forward(input, null);

    /// <summary>Resizes <paramref name="input"/> (B, C, H, W) to <paramref name="output_size"/>, or doubles it when null,
    /// then applies the convolution.</summary>
    public Tensor forward(Tensor input, (long h, long w)? output_size)
    {
        using var scope = torch.NewDisposeScope();
        var dtype = input.dtype;
        var x = dtype == ScalarType.BFloat16 ? input.to(ScalarType.Float32) : input;
        x = output_size is { } size ? functional.interpolate(x, size: [size.h, size.w]) : functional.interpolate(x, scale_factor: [2.0, 2.0]);
        if (dtype == ScalarType.BFloat16) x = x.to(dtype);
        return conv.Convolve(x).MoveToOuterDisposeScope();
    }
}
