using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using TLoRA.Engine.Common;

namespace TLoRA.Engine.Unet;

/// <summary>
/// diffusers' <c>Transformer2DModel</c> for continuous (B, C, H, W) input, as the UNet's attention blocks use it:
/// group norm (eps 1e-6) → proj_in → transformer_blocks over the H·W tokens → proj_out, plus the input.
/// With <c>use_linear_projection</c> (SD 2, SD-XL) proj_in/proj_out are Linear layers applied to the tokens; without it
/// (SD 1.x) they are 1×1 convolutions applied to the map before flattening / after unflattening.
/// </summary>
public sealed class Transformer2DModel : Module
{
    public readonly GroupNorm norm;
    /// <summary>A <see cref="TorchSharp.Modules.Linear"/> (use_linear_projection) or a 1×1 <see cref="TorchSharp.Modules.Conv2d"/>.</summary>
    public readonly Module<Tensor, Tensor> proj_in;
    public readonly ModuleList<BasicTransformerBlock> transformer_blocks;
    /// <summary>A <see cref="TorchSharp.Modules.Linear"/> (use_linear_projection) or a 1×1 <see cref="TorchSharp.Modules.Conv2d"/>.</summary>
    public readonly Module<Tensor, Tensor> proj_out;

    /// <param name="num_attention_heads">Heads of every attention.</param>
    /// <param name="attention_head_dim">Channels per head (inner width = heads · head dim).</param>
    /// <param name="in_channels">Channels of the input map (and of the output).</param>
    /// <param name="num_layers">Number of transformer blocks.</param>
    /// <param name="dropout">Dropout inside the blocks.</param>
    /// <param name="norm_num_groups">Groups of the input group norm.</param>
    /// <param name="cross_attention_dim">Width of the context; null for self-attention only.</param>
    /// <param name="attention_bias">Whether to_q/to_k/to_v have biases.</param>
    /// <param name="use_linear_projection">Linear (true) or 1×1 convolution (false) projections.</param>
    /// <param name="only_cross_attention">The blocks' attn1 attends to the context.</param>
    /// <param name="double_self_attention">The blocks' attn2 is a self-attention.</param>
    /// <param name="norm_eps">Epsilon of the blocks' layer norms.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public Transformer2DModel(long num_attention_heads, long attention_head_dim, long in_channels, long num_layers = 1,
        double dropout = 0.0, long norm_num_groups = 32, long? cross_attention_dim = null, bool attention_bias = false,
        bool use_linear_projection = false, bool only_cross_attention = false, bool double_self_attention = false,
        double norm_eps = 1e-5, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(Transformer2DModel))
    {
        var inner = num_attention_heads * attention_head_dim;
        this.use_linear_projection = use_linear_projection;
        norm = Layers.GroupNorm(norm_num_groups, in_channels, 1e-6, true, device: device, dtype: dtype);
        proj_in = use_linear_projection
            ? Linear(in_channels, inner, true, device: device, dtype: dtype)
            : Conv2d(in_channels, inner, 1, 1, 0, device: device, dtype: dtype);
        transformer_blocks = new ModuleList<BasicTransformerBlock>(Enumerable.Range(0, checked((int)num_layers)).Select(_ =>
            new BasicTransformerBlock(inner, num_attention_heads, attention_head_dim, dropout, cross_attention_dim, "geglu",
                attention_bias, only_cross_attention, double_self_attention, true, norm_eps, device: device, dtype: dtype)).ToArray());
        proj_out = use_linear_projection
            ? Linear(inner, in_channels, true, device: device, dtype: dtype)
            : Conv2d(inner, in_channels, 1, 1, 0, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>Whether the projections are Linear layers.</summary>
    public bool use_linear_projection { get; }

    /// <summary>Applies the blocks to <paramref name="hidden_states"/> (B, C, H, W) with context
    /// <paramref name="encoder_hidden_states"/> (B, M, cross_attention_dim).</summary>
    public Tensor forward(Tensor hidden_states, Tensor? encoder_hidden_states = null)
    {
        using var scope = torch.NewDisposeScope();
        var shape = hidden_states.shape;
        long batch = shape[0], height = shape[2], width = shape[3];
        var h = norm.call(hidden_states);
        long inner;
        if (!use_linear_projection)
        {
            h = ((Conv2d)proj_in).Convolve(h);
            inner = h.size(1);
            h = h.permute(0, 2, 3, 1).reshape(batch, height * width, inner);
        }
        else
        {
            inner = h.size(1);
            h = proj_in.call(h.permute(0, 2, 3, 1).reshape(batch, height * width, inner));
        }

        foreach (var block in transformer_blocks) h = block.forward(h, encoder_hidden_states);

        if (!use_linear_projection)
        {
            h = h.reshape(batch, height, width, inner).permute(0, 3, 1, 2).contiguous();
            h = ((Conv2d)proj_out).Convolve(h);
        }
        else
        {
            h = proj_out.call(h);
            h = h.reshape(batch, height, width, inner).permute(0, 3, 1, 2).contiguous();
        }
        return (h.Plus(hidden_states)).MoveToOuterDisposeScope();
    }
}
