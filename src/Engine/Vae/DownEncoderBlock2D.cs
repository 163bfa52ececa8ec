using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Vae;

/// <summary>diffusers' <c>DownEncoderBlock2D</c>: <c>resnets</c> without time embedding, then an optional stride-2
/// <c>downsamplers.0</c> (the VAE encoder uses padding 0, i.e. pad right/bottom by one first).</summary>
public sealed class DownEncoderBlock2D : Module<Tensor, Tensor>
{
    public readonly ModuleList<ResnetBlock2D> resnets;
    public readonly ModuleList<Downsample2D>? downsamplers;

    /// <param name="in_channels">Input channels.</param>
    /// <param name="out_channels">Output channels.</param>
    /// <param name="num_layers">Number of resnets.</param>
    /// <param name="resnet_eps">Group-norm epsilon.</param>
    /// <param name="resnet_act_fn">Activation.</param>
    /// <param name="resnet_groups">Group-norm groups.</param>
    /// <param name="add_downsample">Whether to halve the resolution at the end.</param>
    /// <param name="downsample_padding">Padding of the downsampling convolution.</param>
    /// <param name="dropout">Dropout.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public DownEncoderBlock2D(long in_channels, long out_channels, int num_layers = 1, double resnet_eps = 1e-6, string resnet_act_fn = "swish",
        long resnet_groups = 32, bool add_downsample = true, long downsample_padding = 1, double dropout = 0.0,
        ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(DownEncoderBlock2D))
    {
        resnets = new ModuleList<ResnetBlock2D>(Enumerable.Range(0, num_layers).Select(i => new ResnetBlock2D(
            i == 0 ? in_channels : out_channels, out_channels, null, resnet_groups, null, resnet_eps, resnet_act_fn, dropout, 1.0, false,
            dtype, device)).ToArray());
        if (add_downsample) downsamplers = new ModuleList<Downsample2D>(new Downsample2D(out_channels, out_channels, downsample_padding, device: device, dtype: dtype));
        RegisterComponents();
    }

    /// <summary>Applies the block to <paramref name="hidden_states"/> (B, C, H, W).</summary>
    public override Tensor forward(Tensor hidden_states)
    {
        using var scope = torch.NewDisposeScope();
        var h = hidden_states;
        foreach (var resnet in resnets) h = resnet.forward(h);
        if (downsamplers is not null)
            foreach (var down in downsamplers) h = down.call(h);
        return h.MoveToOuterDisposeScope();
    }
}
