using TorchSharp;
using static TorchSharp.torch;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.IO;

/// <summary>
/// Reads a PNG, JPEG or WebP training image into the tensor the VAE encodes: float32 [1, 3, H, W] in [-1, 1], upright
/// (EXIF orientation applied). Decoding is done by <see cref="ImageCodec"/> (SkiaSharp): transparent pixels are
/// composited over white, grayscale becomes RGB, 16-bit PNGs are reduced to 8 bits. The size is checked from the
/// header, before the pixels are decoded.
/// </summary>
public static class ImageLoader
{
    /// <summary>Default minimum length, in pixels, of an image's shorter side.</summary>
    public const int DefaultMinSide = 8;

    /// <summary>Loads <paramref name="path"/> as float32 [1, 3, H, W] in [-1, 1] (the value v of a uint8 sample maps to
    /// (v/255 − 0.5)/0.5, as torchvision's ToTensor + Normalize([0.5], [0.5]) do).</summary>
    /// <param name="path">A PNG, JPEG or WebP file (recognised by content, not by extension).</param>
    /// <param name="minSide">Images whose shorter side (after orientation) is below this are rejected.</param>
    /// <exception cref="ImageLoadException">The file cannot be read, is not a decodable PNG, JPEG or WebP, or is too small.</exception>
    public static Tensor Load(string path, int minSide = DefaultMinSide)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var hwc = LoadUint8(path, minSide);
        return ToModelInput(hwc);
    }

    /// <summary>uint8 [H, W, 3] → float32 [1, 3, H, W] in [-1, 1].</summary>
    public static Tensor ToModelInput(Tensor hwc)
    {
        using var scope = torch.NewDisposeScope();
        var chw = hwc.permute(2, 0, 1).unsqueeze(0).to(ScalarType.Float32);
        var normalised = (chw / Sc(255.0) - Sc(0.5)) / Sc(0.5);
        return normalised.MoveToOuterDisposeScope();
    }

    /// <summary>Loads <paramref name="path"/> as uint8 [H, W, 3] RGB, upright, checking the minimum size.</summary>
    /// <exception cref="ImageLoadException">As <see cref="Load"/>.</exception>
    public static Tensor LoadUint8(string path, int minSide = DefaultMinSide)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(minSide, 1);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ImageLoadException(path, $"cannot read image file '{path}': {e.Message}", e);
        }
        return Decode(bytes, path, minSide);
    }

    /// <summary>Decodes image bytes (PNG, JPEG or WebP) to uint8 [H, W, 3], upright; <paramref name="name"/> is used in
    /// error messages.</summary>
    /// <exception cref="ImageLoadException">Undecodable bytes or an image below <paramref name="minSide"/>.</exception>
    public static Tensor Decode(ReadOnlySpan<byte> bytes, string name, int minSide = DefaultMinSide) =>
        Decode(bytes, name, minSide, null, CancellationToken.None);

    /// <summary>As above; a huge image may be downscaled while decoding to no less than
    /// <paramref name="shorterSideAtLeast"/> on its shorter side, and <paramref name="cancellation"/> stops decoding
    /// (see <see cref="ImageCodec.DecodeRgb(ReadOnlySpan{byte}, int?, CancellationToken)"/>).</summary>
    public static Tensor Decode(ReadOnlySpan<byte> bytes, string name, int minSide, int? shorterSideAtLeast, CancellationToken cancellation)
    {
        ImageHeader header;
        try
        {
            header = ImageCodec.ReadHeader(bytes);
        }
        catch (ImageFormatException e)
        {
            throw new ImageLoadException(name, $"cannot decode image '{name}': {e.Message}", e);
        }
        if (Math.Min(header.UprightWidth, header.UprightHeight) < minSide)
            throw new ImageLoadException(name, $"image '{name}' is {header.UprightWidth}x{header.UprightHeight} pixels; " +
                                               $"its shorter side must be at least {minSide} pixels");
        try
        {
            return ImageCodec.DecodeRgb(bytes, shorterSideAtLeast, cancellation);
        }
        catch (ImageFormatException e)
        {
            throw new ImageLoadException(name, $"cannot decode image '{name}': {e.Message}", e);
        }
    }
}
