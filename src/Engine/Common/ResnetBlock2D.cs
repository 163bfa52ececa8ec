using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using Activations = TLoRA.Engine.Common.Activations;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Common;

/// <summary>
/// diffusers' <c>ResnetBlock2D</c> with <c>time_embedding_norm="default"</c>: norm1 → act → conv1 → (+ time_emb_proj(act(temb)))
/// → norm2 → act → dropout → conv2, plus the input (through a 1×1 <c>conv_shortcut</c> when the channel count
/// changes), divided by <c>output_scale_factor</c>. Without <c>temb_channels</c> (the VAE) there is no time_emb_proj.
/// </summary>
public sealed class ResnetBlock2D : Module, ICheckpointable
{
    public readonly GroupNorm norm1;
    public readonly Conv2d conv1;
    public readonly Linear? time_emb_proj;
    public readonly GroupNorm norm2;
    public readonly Dropout dropout;
    public readonly Conv2d conv2;
    public readonly Conv2d? conv_shortcut;

    /// <param name="in_channels">Input channels.</param>
    /// <param name="out_channels">Output channels (default: in_channels).</param>
    /// <param name="temb_channels">Channels of the time embedding, or null for none.</param>
    /// <param name="groups">Groups of norm1.</param>
    /// <param name="groups_out">Groups of norm2 (default: groups).</param>
    /// <param name="eps">Epsilon of both norms.</param>
    /// <param name="non_linearity">Activation ("silu"/"swish", "gelu", "relu").</param>
    /// <param name="dropout">Dropout before conv2.</param>
    /// <param name="output_scale_factor">The sum is divided by this.</param>
    /// <param name="skip_time_act">Feed temb to time_emb_proj without the activation.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public ResnetBlock2D(long in_channels, long? out_channels = null, long? temb_channels = 512, long groups = 32, long? groups_out = null,
        double eps = 1e-6, string non_linearity = "swish", double dropout = 0.0, double output_scale_factor = 1.0,
        bool skip_time_act = false, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(ResnetBlock2D))
    {
        var outC = out_channels ?? in_channels;
        this.non_linearity = Activations.Check(non_linearity);
        this.output_scale_factor = output_scale_factor;
        this.skip_time_act = skip_time_act;
        norm1 = Layers.GroupNorm(groups, in_channels, eps, true, device: device, dtype: dtype);
        conv1 = Conv2d(in_channels, outC, 3, 1, 1, device: device, dtype: dtype);
        if (temb_channels is { } t) time_emb_proj = Linear(t, outC, true, device: device, dtype: dtype);
        norm2 = Layers.GroupNorm(groups_out ?? groups, outC, eps, true, device: device, dtype: dtype);
        this.dropout = Dropout(dropout);
        conv2 = Conv2d(outC, outC, 3, 1, 1, device: device, dtype: dtype);
        if (in_channels != outC) conv_shortcut = Conv2d(in_channels, outC, 1, 1, 0, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>The activation's name.</summary>
    public string non_linearity { get; }
    /// <summary>The output is divided by this.</summary>
    public double output_scale_factor { get; }
    /// <summary>Whether temb skips the activation before time_emb_proj.</summary>
    public bool skip_time_act { get; }

    /// <summary>Recompute this block in backward instead of keeping its activations (<see cref="GradientCheckpoint"/>).</summary>
    public bool gradient_checkpointing { get; set; }

    /// <summary>Applies the block to <paramref name="input_tensor"/> (B, C, H, W) with time embedding
    /// <paramref name="temb"/> (B, temb_channels), which must be given exactly when the block has time_emb_proj.</summary>
    public Tensor forward(Tensor input_tensor, Tensor? temb = null) =>
        GradientCheckpoint.Active(gradient_checkpointing)
            ? GradientCheckpoint.Run(this, i => [Compute(i[0]!, i[1])], input_tensor, temb)[0]
            : Compute(input_tensor, temb);

    private Tensor Compute(Tensor input_tensor, Tensor? temb)
    {
        using var scope = torch.NewDisposeScope();
        var h = Activations.Apply(non_linearity, norm1.call(input_tensor));
        h = conv1.Convolve(h);
        if (time_emb_proj is not null)
        {
            if (temb is null) throw new ArgumentNullException(nameof(temb), "this ResnetBlock2D needs a time embedding");
            var t = skip_time_act ? temb : Activations.Apply(non_linearity, temb);
            h = h.Plus(time_emb_proj.call(t).unsqueeze(-1).unsqueeze(-1));
        }
        h = Activations.Apply(non_linearity, norm2.call(h));
        h = conv2.Convolve(dropout.call(h));
        var shortcut = conv_shortcut is null ? input_tensor : conv_shortcut.Convolve(input_tensor);
        var output = shortcut.Plus(h);
        if (output_scale_factor != 1.0) output = output / Sc(output_scale_factor);
        return output.MoveToOuterDisposeScope();
    }
}
