using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Unet;

/// <summary>diffusers' <c>UNetMidBlock2DCrossAttn</c>: <c>resnets.0</c>, then for each layer <c>attentions.i</c> and
/// <c>resnets.i+1</c>, at constant resolution and channels.</summary>
public sealed class UNetMidBlock2DCrossAttn : Module
{
    public readonly ModuleList<Transformer2DModel> attentions;
    public readonly ModuleList<ResnetBlock2D> resnets;

    /// <param name="in_channels">Channels (in and out).</param>
    /// <param name="temb_channels">Time-embedding width.</param>
    /// <param name="num_layers">Number of (attention, resnet) pairs after the first resnet.</param>
    /// <param name="transformer_layers_per_block">Transformer blocks in each attention (per layer).</param>
    /// <param name="num_attention_heads">Heads (head dim = channels / heads).</param>
    /// <param name="cross_attention_dim">Context width.</param>
    /// <param name="resnet_eps">Group-norm epsilon.</param>
    /// <param name="resnet_act_fn">Activation.</param>
    /// <param name="resnet_groups">Group-norm groups; null: min(channels / 4, 32) as diffusers.</param>
    /// <param name="output_scale_factor">Resnet output divisor (the UNet's mid_block_scale_factor).</param>
    /// <param name="use_linear_projection">Attention projections are Linear (true) or 1×1 convolutions.</param>
    /// <param name="dropout">Dropout.</param>
    /// <param name="skip_time_act">Resnets skip the activation on temb.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public UNetMidBlock2DCrossAttn(long in_channels, long temb_channels, int num_layers, PerBlock<int> transformer_layers_per_block,
        long num_attention_heads, long cross_attention_dim, double resnet_eps = 1e-6, string resnet_act_fn = "swish", long? resnet_groups = 32,
        double output_scale_factor = 1.0, bool use_linear_projection = false, double dropout = 0.0, bool skip_time_act = false,
        ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(UNetMidBlock2DCrossAttn))
    {
        var groups = resnet_groups ?? Math.Min(in_channels / 4, 32);
        // Indexed like diffusers: the last down block's per-layer list may be longer than the mid block's single layer.
        var layers = Enumerable.Range(0, num_layers).Select(i => transformer_layers_per_block[i]).ToArray();
        ResnetBlock2D Resnet() => new(in_channels, in_channels, temb_channels, groups, null, resnet_eps, resnet_act_fn, dropout,
            output_scale_factor, skip_time_act, device: device, dtype: dtype);
        var resnetList = new List<ResnetBlock2D> { Resnet() };
        var attentionList = new List<Transformer2DModel>();
        for (var i = 0; i < num_layers; i++)
        {
            attentionList.Add(new Transformer2DModel(num_attention_heads, in_channels / num_attention_heads, in_channels, layers[i], dropout,
                groups, cross_attention_dim, false, use_linear_projection, false, false, 1e-5, device: device, dtype: dtype));
            resnetList.Add(Resnet());
        }
        attentions = new ModuleList<Transformer2DModel>(attentionList.ToArray());
        resnets = new ModuleList<ResnetBlock2D>(resnetList.ToArray());
        RegisterComponents();
    }

    /// <summary>Applies the block to <paramref name="hidden_states"/> with time embedding <paramref name="temb"/> and
    /// context <paramref name="encoder_hidden_states"/>.</summary>
    public Tensor forward(Tensor hidden_states, Tensor temb, Tensor? encoder_hidden_states)
    {
        using var scope = torch.NewDisposeScope();
        var h = resnets[0].forward(hidden_states, temb);
        for (var i = 0; i < attentions.Count; i++)
        {
            h = attentions[i].forward(h, encoder_hidden_states);
            h = resnets[i + 1].forward(h, temb);
        }
        return h.MoveToOuterDisposeScope();
    }
}
