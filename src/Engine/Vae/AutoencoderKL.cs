using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Vae;

/// <summary>
/// diffusers' <c>AutoencoderKL</c>: <see cref="encode"/> images to a <see cref="DiagonalGaussianDistribution"/> over
/// latents (through the optional 1×1 <c>quant_conv</c>), <see cref="decode"/> latents back (through the optional 1×1
/// <c>post_quant_conv</c>). Scaling latents by <c>scaling_factor</c> (and shift) is left to the caller, as in diffusers.
/// Inputs are cast to the model's dtype; outputs come in it.
/// </summary>
public sealed class AutoencoderKL : Module<Tensor, Tensor>
{
    public readonly Encoder encoder;
    public readonly Decoder decoder;
    public readonly Conv2d? quant_conv;
    public readonly Conv2d? post_quant_conv;

    /// <summary>Builds the model described by <paramref name="config"/> with freshly initialised parameters.</summary>
    public AutoencoderKL(AutoencoderKLConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(AutoencoderKL))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        this.config = config;
        this.dtype = dtype;
        encoder = new Encoder(config, device: device, dtype: dtype);
        decoder = new Decoder(config, device: device, dtype: dtype);
        var latent = config.latent_channels;
        if (config.use_quant_conv) quant_conv = Conv2d(2 * latent, 2 * latent, 1, device: device, dtype: dtype);
        if (config.use_post_quant_conv) post_quant_conv = Conv2d(latent, latent, 1, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>The config the model was built from.</summary>
    public AutoencoderKLConfig config { get; }

    /// <summary>The dtype the model was built in (what it computes in).</summary>
    public ScalarType dtype { get; }

    /// <summary>Reads <paramref name="componentFolder"/>/config.json, builds the model and loads its weights (strict).
    /// force_upcast: as diffusers' SD-XL pipelines do, a VAE asked for in float16 whose config says force_upcast is
    /// loaded in float32 instead (the SD-XL VAE overflows in float16); bfloat16 is kept.</summary>
    public static AutoencoderKL Load(string componentFolder, ScalarType dtype = ScalarType.Float32, Device? device = null)
    =>
        CheckpointLoader.BuildAndLoad<AutoencoderKLConfig, AutoencoderKL>(componentFolder,
            (config, d) => new(config, dtype == ScalarType.Float16 && config.force_upcast ? ScalarType.Float32 : dtype, d), device);

    /// <summary>Encodes images <paramref name="x"/> (B, in_channels, H, W), in [−1, 1], to the latent posterior.</summary>
    public DiagonalGaussianDistribution encode(Tensor x)
    {
        Tensor moments;
        using (torch.NewDisposeScope())
        {
            var h = encoder.call(x.dtype == dtype ? x : x.to(dtype));
            if (quant_conv is not null) h = quant_conv.Convolve(h);
            moments = h.MoveToOuterDisposeScope();
        }
        using (moments) return new DiagonalGaussianDistribution(moments);
    }

    /// <summary>Decodes latents <paramref name="z"/> (B, latent_channels, h, w), already unscaled, to images.</summary>
    public Tensor decode(Tensor z)
    {
        using var scope = torch.NewDisposeScope();
        var h = z.dtype == dtype ? z : z.to(dtype);
        if (post_quant_conv is not null) h = post_quant_conv.Convolve(h);
        return decoder.call(h).MoveToOuterDisposeScope();
    }

    /// <summary>Reconstructs <paramref name="sample"/> through the posterior's mode, as diffusers' forward does by default.</summary>
    public override Tensor forward(Tensor sample)
    {
        using var posterior = encode(sample);
        return decode(posterior.mean);
    }
}
