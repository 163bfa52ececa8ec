using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.IO;

/// <summary>What an image file's header says, read without decoding its pixels.</summary>
/// <param name="Format">"png", "jpeg" or "webp".</param>
/// <param name="Width">Stored width in pixels.</param>
/// <param name="Height">Stored height in pixels.</param>
/// <param name="Orientation">EXIF orientation, 1–8 (1: as stored), from a JPEG's APP1 or a PNG's eXIf chunk.</param>
public sealed record ImageHeader(string Format, int Width, int Height, int Orientation)
{
    /// <summary>Width as shown (orientations 5–8 swap the sides).</summary>
    public int UprightWidth => Orientation >= 5 ? Height : Width;

    /// <summary>Height as shown.</summary>
    public int UprightHeight => Orientation >= 5 ? Width : Height;
}

/// <summary>
/// Image files through SkiaSharp (Skia's libpng, libjpeg-turbo and libwebp decoders): PNG, JPEG and WebP in, PNG out.
/// The header is read before any pixel memory is allocated (<see cref="ReadHeader"/>), so a caller can refuse an
/// oversized image first. Decoded images are uint8 [H, W, 3] RGB tensors, upright.
/// </summary>
public static class ImageCodec
{
    /// <summary>Reads format, size and EXIF orientation without decoding pixels.</summary>
    /// <exception cref="ImageFormatException">Not a PNG, JPEG or WebP image, or a header Skia cannot read.</exception>
    public static ImageHeader ReadHeader(ReadOnlySpan<byte> bytes)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = Open(data);
        return Header(codec, bytes);
    }

    /// <summary>
    /// Decodes PNG, JPEG or WebP bytes to a CPU uint8 tensor [H, W, 3], RGB, upright (EXIF orientation applied).
    /// Grayscale and palette images become RGB, 16-bit samples are reduced to 8 bits, and alpha is composited over
    /// white, so fully transparent pixels become (255, 255, 255). Colour profiles and gamma are not applied (as PIL's
    /// convert("RGB"), which the reference preprocessing uses).
    /// </summary>
    /// <exception cref="ImageFormatException">Not a PNG, JPEG or WebP image, or corrupt or truncated data.</exception>
    public static Tensor DecodeRgb(ReadOnlySpan<byte> bytes) => DecodeRgb(bytes, null, CancellationToken.None);

    /// <summary>Images above this many pixels are decoded at a smaller size where the codec can (JPEG: 1/8 to 7/8)
    /// when the caller only needs a shorter side of <c>shorterSideAtLeast</c>; smaller ones decode exactly.</summary>
    public const long ScaledDecodePixels = 16_000_000;

    private const int RowsPerSlice = 64;

    /// <summary>As <see cref="DecodeRgb(ReadOnlySpan{byte})"/>, decoding row slices so that <paramref name="cancellation"/>
    /// stops the work between slices. With <paramref name="shorterSideAtLeast"/>, an image above
    /// <see cref="ScaledDecodePixels"/> is downscaled while decoding where the codec allows, keeping its shorter side
    /// at least that long (the caller resizes to it anyway).</summary>
    public static Tensor DecodeRgb(ReadOnlySpan<byte> bytes, int? shorterSideAtLeast, CancellationToken cancellation)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = Open(data);
        var header = Header(codec, bytes);
        var size = new SKSizeI(header.Width, header.Height);
        if (shorterSideAtLeast is { } want && (long)header.Width * header.Height > ScaledDecodePixels)
        {
            for (var k = 1; k < 8; k++)
            {
                var scaled = codec.GetScaledDimensions(k / 8f);
                if (Math.Min(scaled.Width, scaled.Height) < want || scaled.Width >= header.Width) continue;
                size = scaled;
                break;
            }
        }
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        cancellation.ThrowIfCancellationRequested();
        using var scope = torch.NewDisposeScope();
        var rgba = torch.empty([size.Height, size.Width, 4], ScalarType.Byte);
        unsafe
        {
            fixed (byte* p = rgba.bytes)
            {
                var sliced = codec.StartScanlineDecode(info) == SKCodecResult.Success && codec.ScanlineOrder == SKCodecScanlineOrder.TopDown;
                if (sliced)
                {
                    for (var y = 0; y < size.Height; y += RowsPerSlice)
                    {
                        cancellation.ThrowIfCancellationRequested();
                        var rows = Math.Min(RowsPerSlice, size.Height - y);
                        if (codec.GetScanlines((IntPtr)(p + (long)y * info.RowBytes), rows, info.RowBytes) != rows)
                            throw new ImageFormatException($"truncated {header.Format.ToUpperInvariant()}: the data ends early");
                    }
                }
                else
                {
                    // interlaced PNGs and the like decode in one call
                    var result = codec.GetPixels(info, (IntPtr)p);
                    if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
                        throw new ImageFormatException($"corrupt {header.Format.ToUpperInvariant()}: {Describe(result)}");
                    if (result == SKCodecResult.IncompleteInput)
                        throw new ImageFormatException($"truncated {header.Format.ToUpperInvariant()}: the data ends early");
                }
            }
        }
        cancellation.ThrowIfCancellationRequested();
        var rgb = OverWhite(rgba);
        var upright = header.Orientation == 1 ? rgb : ExifOrientation.Apply(rgb, header.Orientation);
        return upright.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Encodes a uint8 tensor [H, W, C] (C = 1 gray, 3 RGB or 4 RGBA; any device) as PNG bytes.</summary>
    /// <exception cref="ArgumentException">Wrong dtype, rank or channel count, or an empty image.</exception>
    public static byte[] EncodePng(Tensor image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.dtype != ScalarType.Byte || image.dim() != 3 || image.size(2) is not (1 or 3 or 4))
            throw new ArgumentException($"expected a uint8 image [H, W, 1|3|4], got {Describe(image)}", nameof(image));
        if (image.size(0) == 0 || image.size(1) == 0)
            throw new ArgumentException($"cannot encode an empty image {Describe(image)}", nameof(image));
        using var scope = torch.NewDisposeScope();
        var c = image.size(2);
        var rgba = c switch
        {
            4 => image,
            3 => torch.cat([image, torch.full([image.size(0), image.size(1), 1], Sc(255L), ScalarType.Byte, image.device)], 2),
            _ => torch.cat([image.expand(-1, -1, 3), torch.full([image.size(0), image.size(1), 1], Sc(255L),
                ScalarType.Byte, image.device)], 2),
        };
        rgba = rgba.to(torch.CPU).contiguous();
        var info = new SKImageInfo((int)image.size(1), (int)image.size(0), SKColorType.Rgba8888,
            c == 4 ? SKAlphaType.Unpremul : SKAlphaType.Opaque);
        unsafe
        {
            fixed (byte* p = rgba.bytes)
            {
                using var pixmap = new SKPixmap(info, (IntPtr)p, info.RowBytes);
                using var encoded = pixmap.Encode(SKPngEncoderOptions.Default)
                    ?? throw new InvalidOperationException("Skia could not encode the image as PNG");
                return encoded.ToArray();
            }
        }
    }

    private static SKCodec Open(SKData data)
    {
        var signature = Signature(data.AsSpan());
        var codec = SKCodec.Create(new SKMemoryStream(data), out var result);
        if (codec is null)
            throw new ImageFormatException(signature is null ? "not a PNG, JPEG or WebP image"
                : result == SKCodecResult.IncompleteInput ? $"truncated {signature}: the data ends in the header"
                : $"corrupt {signature} header: {Describe(result)}");
        if (codec.EncodedFormat is not (SKEncodedImageFormat.Png or SKEncodedImageFormat.Jpeg or SKEncodedImageFormat.Webp))
        {
            codec.Dispose();
            throw new ImageFormatException("not a PNG, JPEG or WebP image");
        }
        return codec;
    }

    // The format a file's first bytes claim, or null.
    private static string? Signature(ReadOnlySpan<byte> b)
    {
        if (b.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G'])) return "PNG";
        if (b.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8])) return "JPEG";
        if (b.Length >= 12 && b[..4].SequenceEqual("RIFF"u8) && b[8..12].SequenceEqual("WEBP"u8)) return "WebP";
        return null;
    }

    private static ImageHeader Header(SKCodec codec, ReadOnlySpan<byte> bytes)
    {
        var format = codec.EncodedFormat switch
        {
            SKEncodedImageFormat.Png => "png",
            SKEncodedImageFormat.Jpeg => "jpeg",
            _ => "webp",
        };
        var origin = codec.EncodedFormat == SKEncodedImageFormat.Png ? PngExif.Orientation(bytes) : (int)codec.EncodedOrigin;
        return new ImageHeader(format, codec.Info.Width, codec.Info.Height, origin is >= 1 and <= 8 ? origin : 1);
    }

    // rgb·a/255 + 255·(1 − a/255), rounded half to even, in float32.
    private static Tensor OverWhite(Tensor rgba)
    {
        var rgb = rgba.narrow(2, 0, 3);
        var alpha = rgba.narrow(2, 3, 1);
        if (alpha.min().ItemInt64() == 255) return rgb;
        var a = alpha.to(ScalarType.Float32) / Sc(255.0);
        var mixed = (rgb.to(ScalarType.Float32) * a).Plus(a.SubtractedFrom(Sc(1.0)) * Sc(255.0));
        return mixed.round().clamp(Sc(0.0), Sc(255.0)).to(ScalarType.Byte);
    }

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.InvalidInput => "invalid data",
        SKCodecResult.IncompleteInput => "the data ends early",
        SKCodecResult.ErrorInInput => "error in the data",
        SKCodecResult.InvalidScale or SKCodecResult.InvalidConversion or SKCodecResult.InvalidParameters =>
            "an unsupported pixel layout",
        SKCodecResult.CouldNotRewind or SKCodecResult.InternalError or SKCodecResult.Unimplemented => "decoder failure",
        _ => result.ToString(),
    };

    private static string Describe(Tensor t) => $"[{string.Join(", ", t.shape)}] {t.dtype}";
}

/// <summary>Image bytes that are not a decodable PNG, JPEG or WebP image.</summary>
public sealed class ImageFormatException(string message) : FormatException(message);
