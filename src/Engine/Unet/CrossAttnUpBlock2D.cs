using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Unet;

/// <summary>diffusers' <c>CrossAttnUpBlock2D</c>: pairs of (<c>resnets.i</c>, <c>attentions.i</c>), each resnet fed the
/// running tensor concatenated with one skip tensor (last first), then an optional ×2 <c>upsamplers.0</c>.</summary>
public sealed class CrossAttnUpBlock2D : UNetUpBlock
{
    public readonly ModuleList<Transformer2DModel> attentions;
    public readonly ModuleList<ResnetBlock2D> resnets;
    public readonly ModuleList<Upsample2D>? upsamplers;

    /// <param name="in_channels">Channels of the deepest skip tensor (consumed by the last resnet).</param>
    /// <param name="prev_output_channel">Channels of the incoming tensor.</param>
    /// <param name="out_channels">Output channels (and of the other skip tensors).</param>
    /// <param name="temb_channels">Time-embedding width.</param>
    /// <param name="num_layers">Number of (resnet, attention) pairs (the UNet's layers_per_block + 1).</param>
    /// <param name="transformer_layers_per_block">Transformer blocks in each attention (per layer).</param>
    /// <param name="num_attention_heads">Heads (head dim = out_channels / heads).</param>
    /// <param name="cross_attention_dim">Context width.</param>
    /// <param name="resnet_eps">Group-norm epsilon.</param>
    /// <param name="resnet_act_fn">Activation.</param>
    /// <param name="resnet_groups">Group-norm groups (resnets and attentions).</param>
    /// <param name="output_scale_factor">Resnet output divisor.</param>
    /// <param name="add_upsample">Whether to double the resolution at the end.</param>
    /// <param name="use_linear_projection">Attention projections are Linear (true) or 1×1 convolutions.</param>
    /// <param name="only_cross_attention">attn1 attends to the context.</param>
    /// <param name="dropout">Dropout.</param>
    /// <param name="skip_time_act">Resnets skip the activation on temb.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public CrossAttnUpBlock2D(long in_channels, long prev_output_channel, long out_channels, long temb_channels, int num_layers,
        PerBlock<int> transformer_layers_per_block, long num_attention_heads, long cross_attention_dim, double resnet_eps = 1e-6,
        string resnet_act_fn = "swish", long resnet_groups = 32, double output_scale_factor = 1.0, bool add_upsample = true,
        bool use_linear_projection = false, bool only_cross_attention = false, double dropout = 0.0, bool skip_time_act = false,
        ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(CrossAttnUpBlock2D))
    {
        var layers = transformer_layers_per_block.Expand(num_layers, "transformer_layers_per_block");
        attentions = new ModuleList<Transformer2DModel>(Enumerable.Range(0, num_layers).Select(i => new Transformer2DModel(
            num_attention_heads, out_channels / num_attention_heads, out_channels, layers[i], dropout, resnet_groups, cross_attention_dim,
            false, use_linear_projection, only_cross_attention, false, 1e-5, device: device, dtype: dtype)).ToArray());
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
            throw new ArgumentException($"CrossAttnUpBlock2D has {resnets.Count} resnets but got {res_hidden_states.Count} skip tensors");
        using var scope = torch.NewDisposeScope();
        var h = hidden_states;
        for (var i = 0; i < resnets.Count; i++)
        {
            h = torch.cat([h, res_hidden_states[^(i + 1)]], 1);
            h = resnets[i].forward(h, temb);
            h = attentions[i].forward(h, encoder_hidden_states);
        }
        if (upsamplers is not null)
            foreach (var up in upsamplers) h = up.forward(h, upsample_size);
        return h.MoveToOuterDisposeScope();
    }
}
