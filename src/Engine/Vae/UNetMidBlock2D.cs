using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Vae;

/// <summary>diffusers' <c>UNetMidBlock2D</c> as the VAE uses it: <c>resnets.0</c>, then per layer a spatial
/// self-<see cref="Attention"/> over the pixels (with group_norm and a residual connection; heads = channels /
/// attention_head_dim, one head in the VAE) and <c>resnets.i+1</c>. Without <c>add_attention</c> there are no attention
/// weights at all (diffusers keeps None entries, which have no keys).</summary>
public sealed class UNetMidBlock2D : Module
{
    public readonly ModuleList<Attention>? attentions;
    public readonly ModuleList<ResnetBlock2D> resnets;

    /// <param name="in_channels">Channels (in and out).</param>
    /// <param name="temb_channels">Time-embedding width; null in the VAE.</param>
    /// <param name="num_layers">Number of (attention, resnet) pairs after the first resnet.</param>
    /// <param name="resnet_eps">Group-norm epsilon (resnets and attention).</param>
    /// <param name="resnet_act_fn">Activation.</param>
    /// <param name="resnet_groups">Group-norm groups; null: min(channels / 4, 32) as diffusers.</param>
    /// <param name="add_attention">Whether the attentions exist.</param>
    /// <param name="attention_head_dim">Channels per attention head (VAE: all channels, so one head).</param>
    /// <param name="output_scale_factor">Resnet and attention output divisor.</param>
    /// <param name="dropout">Dropout.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public UNetMidBlock2D(long in_channels, long? temb_channels, int num_layers = 1, double resnet_eps = 1e-6, string resnet_act_fn = "swish",
        long? resnet_groups = 32, bool add_attention = true, long? attention_head_dim = null, double output_scale_factor = 1.0,
        double dropout = 0.0, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(UNetMidBlock2D))
    {
        var groups = resnet_groups ?? Math.Min(in_channels / 4, 32);
        var headDim = attention_head_dim ?? in_channels;
        ResnetBlock2D Resnet() => new(in_channels, in_channels, temb_channels, groups, null, resnet_eps, resnet_act_fn, dropout,
            output_scale_factor, false, device: device, dtype: dtype);
        var resnetList = new List<ResnetBlock2D> { Resnet() };
        var attentionList = new List<Attention>();
        for (var i = 0; i < num_layers; i++)
        {
            if (add_attention)
                attentionList.Add(new Attention(in_channels, null, in_channels / headDim, headDim, dropout, bias: true,
                    residual_connection: true, rescale_output_factor: output_scale_factor, norm_num_groups: groups, eps: resnet_eps,
                    device: device, dtype: dtype));
            resnetList.Add(Resnet());
        }
        if (add_attention) attentions = new ModuleList<Attention>(attentionList.ToArray());
        resnets = new ModuleList<ResnetBlock2D>(resnetList.ToArray());
        RegisterComponents();
    }

    /// <summary>Applies the block to <paramref name="hidden_states"/> (B, C, H, W).</summary>
    public Tensor forward(Tensor hidden_states, Tensor? temb = null)
    {
        using var scope = torch.NewDisposeScope();
        var h = resnets[0].forward(hidden_states, temb);
        for (var i = 1; i < resnets.Count; i++)
        {
            if (attentions is not null) h = attentions[i - 1].forward(h);
            h = resnets[i].forward(h, temb);
        }
        return h.MoveToOuterDisposeScope();
    }
}
