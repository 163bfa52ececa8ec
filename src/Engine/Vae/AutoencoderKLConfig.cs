namespace TLoRA.Engine.Vae;

/// <summary>
/// The config.json of a diffusers <c>AutoencoderKL</c>, bound by its JSON property names, with diffusers' defaults for
/// absent keys. Latents for the diffusion model are (mean or sample − shift_factor) · scaling_factor; that scaling is
/// the pipeline's business, not the model's.
/// </summary>
public sealed record AutoencoderKLConfig
{
    public int in_channels { get; init; } = 3;
    public int out_channels { get; init; } = 3;
    public string[] down_block_types { get; init; } = ["DownEncoderBlock2D"];
    public string[] up_block_types { get; init; } = ["UpDecoderBlock2D"];
    public int[] block_out_channels { get; init; } = [64];
    /// <summary>Resnets per encoder block; decoder blocks have one more.</summary>
    public int layers_per_block { get; init; } = 1;
    public string act_fn { get; init; } = "silu";
    public int latent_channels { get; init; } = 4;
    public int norm_num_groups { get; init; } = 32;
    /// <summary>The image size the VAE was trained for, in pixels (FLUX.1-dev: 1024); null when the config has none.</summary>
    public int? sample_size { get; init; }
    /// <summary>Latents are multiplied by this before diffusion (SD-XL: 0.13025) and divided by it before decoding.</summary>
    public double scaling_factor { get; init; } = 0.18215;
    /// <summary>Subtracted before scaling (FLUX); null for SD-XL.</summary>
    public double? shift_factor { get; init; }
    public double[]? latents_mean { get; init; }
    public double[]? latents_std { get; init; }
    /// <summary>The VAE overflows in float16: run it in float32 when asked for float16 (see <see cref="AutoencoderKL.Load"/>).</summary>
    public bool force_upcast { get; init; } = true;
    /// <summary>Whether there is a 1×1 quant_conv on the encoder's moments (FLUX: false).</summary>
    public bool use_quant_conv { get; init; } = true;
    /// <summary>Whether there is a 1×1 post_quant_conv on the latents before decoding (FLUX: false).</summary>
    public bool use_post_quant_conv { get; init; } = true;
    /// <summary>Whether the encoder's and decoder's mid blocks have their attention.</summary>
    public bool mid_block_add_attention { get; init; } = true;

    /// <summary>Fails, naming the setting, on configs this implementation does not cover.</summary>
    public void Validate()
    {
        foreach (var t in down_block_types)
            if (t != "DownEncoderBlock2D") throw new NotSupportedException($"AutoencoderKL: down block type '{t}' is not supported");
        foreach (var t in up_block_types)
            if (t != "UpDecoderBlock2D") throw new NotSupportedException($"AutoencoderKL: up block type '{t}' is not supported");
        if (down_block_types.Length != block_out_channels.Length || up_block_types.Length != block_out_channels.Length)
            throw new InvalidDataException($"AutoencoderKL config has {down_block_types.Length} down blocks, {up_block_types.Length} up blocks and {block_out_channels.Length} block_out_channels");
    }
}
