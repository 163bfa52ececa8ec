using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Unet;

/// <summary>diffusers' <c>CrossAttnDownBlock2D</c>: pairs of (<c>resnets.i</c>, <c>attentions.i</c>) then an optional
/// stride-2 <c>downsamplers.0</c>; each pair's output (and the downsampler's) is kept as a skip connection.</summary>
public sealed class CrossAttnDownBlock2D : UNetDownBlock
{
    public readonly ModuleList<Transformer2DModel> attentions;
    public readonly ModuleList<ResnetBlock2D> resnets;
    public readonly ModuleList<Downsample2D>? downsamplers;

    /// <param name="in_channels">Input channels.</param>
    /// <param name="out_channels">Output channels.</param>
    /// <param name="temb_channels">Time-embedding width.</param>
    /// <param name="num_layers">Number of (resnet, attention) pairs.</param>
    /// <param name="transformer_layers_per_block">Transformer blocks in each attention (per layer).</param>
    /// <param name="num_attention_heads">Heads (head dim = out_channels / heads).</param>
    /// <param name="cross_attention_dim">Context width.</param>
    /// <param name="resnet_eps">Group-norm epsilon.</param>
    /// <param name="resnet_act_fn">Activation.</param>
    /// <param name="resnet_groups">Group-norm groups (resnets and attentions).</param>
    /// <param name="output_scale_factor">Resnet output divisor.</param>
    /// <param name="add_downsample">Whether to halve the resolution at the end.</param>
    /// <param name="downsample_padding">Padding of the downsampling convolution.</param>
    /// <param name="use_linear_projection">Attention projections are Linear (true) or 1×1 convolutions.</param>
    /// <param name="only_cross_attention">attn1 attends to the context.</param>
    /// <param name="dropout">Dropout.</param>
    /// <param name="skip_time_act">Resnets skip the activation on temb.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public CrossAttnDownBlock2D(long in_channels, long out_channels, long temb_channels, int num_layers, PerBlock<int> transformer_layers_per_block,
        long num_attention_heads, long cross_attention_dim, double resnet_eps = 1e-6, string resnet_act_fn = "swish", long resnet_groups = 32,
        double output_scale_factor = 1.0, bool add_downsample = true, long downsample_padding = 1, bool use_linear_projection = false,
        bool only_cross_attention = false, double dropout = 0.0, bool skip_time_act = false, ScalarType dtype = ScalarType.Float32,
        Device? device = null) : base(nameof(CrossAttnDownBlock2D))
    {
        var layers = transformer_layers_per_block.Expand(num_layers, "transformer_layers_per_block");
        attentions = new ModuleList<Transformer2DModel>(Enumerable.Range(0, num_layers).Select(i => new Transformer2DModel(
            num_attention_heads, out_channels / num_attention_heads, out_channels, layers[i], dropout, resnet_groups, cross_attention_dim,
            false, use_linear_projection, only_cross_attention, false, 1e-5, device: device, dtype: dtype)).ToArray());
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
        for (var i = 0; i < resnets.Count; i++)
        {
            h = resnets[i].forward(h, temb);
            h = attentions[i].forward(h, encoder_hidden_states);
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
