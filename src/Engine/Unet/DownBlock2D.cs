using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Unet;

/// <summary>diffusers' <c>DownBlock2D</c>: <c>resnets</c> then an optional stride-2 <c>downsamplers.0</c>; every
/// output is kept as a skip connection.</summary>
public sealed class DownBlock2D : UNetDownBlock
{
    public readonly ModuleList<ResnetBlock2D> resnets;
    public readonly ModuleList<Downsample2D>? downsamplers;

    /// <param name="in_channels">Input channels.</param>
    /// <param name="out_channels">Output channels.</param>
    /// <param name="temb_channels">Time-embedding width.</param>
    /// <param name="num_layers">Number of resnets.</param>
    /// <param name="resnet_eps">Group-norm epsilon.</param>
    /// <param name="resnet_act_fn">Activation.</param>
    /// <param name="resnet_groups">Group-norm groups.</param>
    /// <param name="output_scale_factor">Resnet output divisor.</param>
    /// <param name="add_downsample">Whether to halve the resolution at the end.</param>
    /// <param name="downsample_padding">Padding of the downsampling convolution.</param>
    /// <param name="dropout">Resnet dropout.</param>
    /// <param name="skip_time_act">Resnets skip the activation on temb.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public DownBlock2D(long in_channels, long out_channels, long temb_channels, int num_layers = 1, double resnet_eps = 1e-6,
        string resnet_act_fn = "swish", long resnet_groups = 32, double output_scale_factor = 1.0, bool add_downsample = true,
        long downsample_padding = 1, double dropout = 0.0, bool skip_time_act = false, ScalarType dtype = ScalarType.Float32,
        Device? device = null) : base(nameof(DownBlock2D))
    {
        resnets = new ModuleList<ResnetBlock2D>(Enumerable.Range(0, num_layers).Select(i => new ResnetBlock2D(
            i == 0 ? in_channels : out_channels, out_channels, temb_channels, resnet_groups, null, resnet_eps, resnet_act_fn, dropout,
            output_scale_factor, skip_time_act, device: device, dtype: dtype)).ToArray());
        if (add_downsample) downsamplers = new ModuleList<Downsample2D>(new Downsample2D(out_channels, out_channels, downsample_padding, device: device, dtype: dtype));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override (Tensor hidden_states, IReadOnlyList<Tensor> output_states) forward(Tensor hidden_states, Tensor temb,
        Tensor? encoder_hidden_states)
    {
        var outputs = new List<Tensor>();
        var h = hidden_states;
        foreach (var resnet in resnets)
        {
            h = resnet.forward(h, temb);
            outputs.Add(h);
        }
        if (downsamplers is not null)
        {
            foreach (var down in downsamplers)
            {
                h = down.call(h);
                outputs.Add(h);
            }
        }
        return (h, outputs);
    }
}
