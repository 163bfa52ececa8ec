using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Vae;

/// <summary>diffusers' <c>UpDecoderBlock2D</c>: <c>resnets</c> without time embedding, then an optional ×2
/// <c>upsamplers.0</c>.</summary>
public sealed class UpDecoderBlock2D : Module<Tensor, Tensor>
{
    public readonly ModuleList<ResnetBlock2D> resnets;
    public readonly ModuleList<Upsample2D>? upsamplers;

    /// <param name="in_channels">Input channels.</param>
    /// <param name="out_channels">Output channels.</param>
    /// <param name="num_layers">Number of resnets (the VAE's layers_per_block + 1).</param>
    /// <param name="resnet_eps">Group-norm epsilon.</param>
    /// <param name="resnet_act_fn">Activation.</param>
    /// <param name="resnet_groups">Group-norm groups.</param>
    /// <param name="add_upsample">Whether to double the resolution at the end.</param>
    /// <param name="dropout">Dropout.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public UpDecoderBlock2D(long in_channels, long out_channels, int num_layers = 1, double resnet_eps = 1e-6, string resnet_act_fn = "swish",
        long resnet_groups = 32, bool add_upsample = true, double dropout = 0.0, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(UpDecoderBlock2D))
    {
        resnets = new ModuleList<ResnetBlock2D>(Enumerable.Range(0, num_layers).Select(i => new ResnetBlock2D(
            i == 0 ? in_channels : out_channels, out_channels, null, resnet_groups, null, resnet_eps, resnet_act_fn, dropout, 1.0, false,
            dtype, device)).ToArray());
        if (add_upsample) upsamplers = new ModuleList<Upsample2D>(new Upsample2D(out_channels, out_channels, device: device, dtype: dtype));
        RegisterComponents();
    }

    /// <summary>Applies the block to <paramref name="hidden_states"/> (B, C, H, W).</summary>
    public override Tensor forward(Tensor hidden_states)
    {
        using var scope = torch.NewDisposeScope();
        var h = hidden_states;
        foreach (var resnet in resnets) h = resnet.forward(h);
        if (upsamplers is not null)
            foreach (var up in upsamplers) h = up.call(h);
        return h.MoveToOuterDisposeScope();
    }
}
