using TLoRA.Engine.Vae;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Flux;

/// <summary>
/// FluxPipeline's latent layout: VAE latents [B, C, H, W] cut into 2×2 patches and packed into a token sequence
/// [B, (H/2)·(W/2), 4C] (channel-major within a patch: c·4 + 2·dy + dx), its inverse, and the positional ids the
/// transformer's RoPE reads: (0, row, col) per image token, zeros per text token.
/// </summary>
public static class FluxLatents
{
    /// <summary>FluxPipeline's vae_scale_factor: 2^(len(block_out_channels) − 1) (8 for FLUX.1's VAE).</summary>
    public static int VaeScaleFactor(AutoencoderKLConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return 1 << (config.block_out_channels.Length - 1);
    }

    /// <summary>The latent height and width for an image of <paramref name="height"/>×<paramref name="width"/> pixels:
    /// 2·(pixels // (2·vae_scale_factor)), so that they are even, as FluxPipeline.prepare_latents does.</summary>
    public static (int Height, int Width) LatentSize(int height, int width, int vaeScaleFactor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vaeScaleFactor, 1);
        return (2 * (height / (vaeScaleFactor * 2)), 2 * (width / (vaeScaleFactor * 2)));
    }

    /// <summary>Packs <paramref name="latents"/> [B, C, H, W] (H, W even) into [B, (H/2)·(W/2), 4C], as
    /// <c>FluxPipeline._pack_latents</c>: view(B, C, H/2, 2, W/2, 2).permute(0, 2, 4, 1, 3, 5).reshape.</summary>
    /// <exception cref="ArgumentException">Not 4-D, or an odd height or width.</exception>
    public static Tensor Pack(Tensor latents)
    {
        ArgumentNullException.ThrowIfNull(latents);
        if (latents.dim() != 4) throw new ArgumentException($"latents must be [B, C, H, W], not [{string.Join(", ", latents.shape)}]", nameof(latents));
        long b = latents.size(0), c = latents.size(1), h = latents.size(2), w = latents.size(3);
        if (h % 2 != 0 || w % 2 != 0) throw new ArgumentException($"latent height and width must be even to pack 2×2 patches, not {h}×{w}", nameof(latents));
        using var scope = torch.NewDisposeScope();
        var packed = latents.reshape(b, c, h / 2, 2, w / 2, 2).permute(0, 2, 4, 1, 3, 5).reshape(b, h / 2 * (w / 2), c * 4);
        return packed.MoveToOuterDisposeScope();
    }

    /// <summary>Unpacks <paramref name="packed"/> [B, L, 4C] to [B, C, H, W] for an image of
    /// <paramref name="height"/>×<paramref name="width"/> pixels (H, W from <see cref="LatentSize"/>), as
    /// <c>FluxPipeline._unpack_latents</c>.</summary>
    /// <exception cref="ArgumentException">Not 3-D, channels not a multiple of 4, or L not (H/2)·(W/2).</exception>
    public static Tensor Unpack(Tensor packed, int height, int width, int vaeScaleFactor)
    {
        ArgumentNullException.ThrowIfNull(packed);
        if (packed.dim() != 3) throw new ArgumentException($"packed latents must be [B, L, 4C], not [{string.Join(", ", packed.shape)}]", nameof(packed));
        var (h, w) = LatentSize(height, width, vaeScaleFactor);
        long b = packed.size(0), l = packed.size(1), c4 = packed.size(2);
        if (c4 % 4 != 0) throw new ArgumentException($"packed channels ({c4}) must be a multiple of 4", nameof(packed));
        if (l != (long)(h / 2) * (w / 2))
            throw new ArgumentException($"{l} tokens do not make a {h / 2}×{w / 2} patch grid ({height}×{width} pixels, vae scale {vaeScaleFactor})", nameof(packed));
        using var scope = torch.NewDisposeScope();
        var latents = packed.reshape(b, h / 2, w / 2, c4 / 4, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(b, c4 / 4, h, w);
        return latents.MoveToOuterDisposeScope();
    }

    /// <summary><c>FluxPipeline._prepare_latent_image_ids</c>: [rows·cols, 3] with (0, row, col) in row-major order.
    /// <paramref name="rows"/> and <paramref name="cols"/> are the patch grid (latent height / 2, latent width / 2).</summary>
    public static Tensor ImageIds(int rows, int cols, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        var data = new float[rows * cols * 3];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < cols; c++)
            {
                var i = (r * cols + c) * 3;
                data[i + 1] = r;
                data[i + 2] = c;
            }
        using var cpu = torch.tensor(data, rows * cols, 3);
        return cpu.to(dtype, device ?? torch.CPU, copy: true);
    }

    /// <summary>The text tokens' ids: zeros [<paramref name="sequenceLength"/>, 3], as FluxPipeline.encode_prompt.</summary>
    public static Tensor TextIds(int sequenceLength, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sequenceLength);
        return torch.zeros([sequenceLength, 3], device: device, dtype: dtype);
    }
}
