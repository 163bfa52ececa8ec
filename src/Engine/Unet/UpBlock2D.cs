using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Unet;

/// <summary>diffusers' <c>UpBlock2D</c>: <c>resnets</c>, each fed the running tensor concatenated with one skip tensor
/// (last first), then an optional ×2 <c>upsamplers.0</c>.</summary>
public sealed class UpBlock2D : UNetUpBlock
{
    public readonly ModuleList<ResnetBlock2D> resnets;
    public readonly ModuleList<Upsample2D>? upsamplers;

    /// <param name="in_channels">Channels of the deepest skip tensor (consumed by the last resnet).</param>
    /// <param name="prev_output_channel">Channels of the incoming tensor.</param>
    /// <param name="out_channels">Output channels (and of the other skip tensors).</param>
    /// <param name="temb_channels">Time-embedding width.</param>
    /// <param name="num_layers">Number of resnets (the UNet's layers_per_block + 1).</param>
    /// <param name="resnet_eps">Group-norm epsilon.</param>
    /// <param name="resnet_act_fn">Activation.</param>
    /// <param name="resnet_groups">Group-norm groups.</param>
    /// <param name="output_scale_factor">Resnet output divisor.</param>
    /// <param name="add_upsample">Whether to double the resolution at the end.</param>
    /// <param name="dropout">Resnet dropout.</param>
    /// <param name="skip_time_act">Resnets skip the activation on temb.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public UpBlock2D(long in_channels, long prev_output_channel, long out_channels, long temb_channels, int num_layers = 1,
        double resnet_eps = 1e-6, string resnet_act_fn = "swish", long resnet_groups = 32, double output_scale_factor = 1.0,
        bool add_upsample = true, double dropout = 0.0, bool skip_time_act = false, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(UpBlock2D))
    {
        resnets = new ModuleList<ResnetBlock2D>(Enumerable.Range(0, num_layers).Select(i => new ResnetBlock2D(
            (i == 0 ? prev_output_channel : out_channels) + (i == num_layers - 1 ? in_channels : out_channels), out_channels,
            temb_channels, resnet_groups, null, resnet_eps, resnet_act_fn, dropout, output_scale_factor, skip_time_act, device: device, dtype: dtype)).ToArray());
        if (add_upsample) upsamplers = new ModuleList<Upsample2D>(new Upsample2D(out_channels, out_channels, device: device, dtype: dtype));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override int ResnetCount => resnets.Count;

    /// <inheritdoc />
    public override Tensor forward(Tensor hidden_states, IReadOnlyList<Tensor> res_hidden_states, Tensor temb,
        Tensor? encoder_hidden_states, (long h, long w)? upsample_size)
    {
        if (res_hidden_states.Count != resnets.Count)
            throw new ArgumentException($"UpBlock2D has {resnets.Count} resnets but got {res_hidden_states.Count} skip tensors");
        using var scope = torch.NewDisposeScope();
        var h = hidden_states;
        for (var i = 0; i < resnets.Count; i++)
        {
            h = torch.cat([h, res_hidden_states[^(i + 1)]], 1);
            h = resnets[i].forward(h, temb);
        }
        if (upsamplers is not null)
            foreach (var up in upsamplers) h = up.forward(h, upsample_size);
        return h.MoveToOuterDisposeScope();
    }
}
