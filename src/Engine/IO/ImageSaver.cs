using TorchSharp;
using static TorchSharp.torch;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.IO;

/// <summary>The value range of a float image handed to <see cref="ImageSaver"/>.</summary>
public enum PixelRange
{
    /// <summary>[-1, 1]: what the VAE decodes (black −1, white 1).</summary>
    MinusOneToOne,

    /// <summary>[0, 1].</summary>
    ZeroToOne,
}

/// <summary>Writes float images as 8-bit RGB PNG files.</summary>
public static class ImageSaver
{
    /// <summary>
    /// Saves a float image [3, H, W] or [1, 3, H, W] whose values lie in <paramref name="range"/> (the caller states
    /// which) as an RGB PNG at <paramref name="path"/>. Values are mapped to [0, 1] ((x + 1)/2 for [-1, 1]), clamped,
    /// and quantised as diffusers' image processor does: round(x·255). The file is written atomically: to a temporary
    /// file in the same folder, then moved over <paramref name="path"/> (the folder is created if needed).
    /// </summary>
    /// <exception cref="ArgumentException">Not a single 3-channel float image.</exception>
    /// <exception cref="IOException">The file cannot be written (the message names the path).</exception>
    public static void SavePng(Tensor image, string path, PixelRange range)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        WriteAtomically(path, EncodePng(image, range));
    }

    /// <summary>The PNG bytes of a float image [3, H, W] or [1, 3, H, W] in <paramref name="range"/> (see SavePng).</summary>
    public static byte[] EncodePng(Tensor image, PixelRange range)
    {
        ArgumentNullException.ThrowIfNull(image);
        var shape = image.shape;
        var ok = (shape.Length == 3 && shape[0] == 3) || (shape.Length == 4 && shape[0] == 1 && shape[1] == 3);
        if (!ok) throw new ArgumentException($"expected one RGB image [3, H, W] or [1, 3, H, W], got {image}", nameof(image));
        if (image.dtype is not (ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16))
            throw new ArgumentException($"expected a floating-point image, got {image.dtype}", nameof(image));
        using var scope = torch.NewDisposeScope();
        var chw = (shape.Length == 4 ? image.squeeze(0) : image).to(ScalarType.Float32, torch.CPU);
        var unit = range switch
        {
            PixelRange.MinusOneToOne => (chw / Sc(2.0)).Plus(Sc(0.5)),
            PixelRange.ZeroToOne => chw,
            _ => throw new ArgumentOutOfRangeException(nameof(range), range, null),
        };
        var bytes = (unit.clamp(Sc(0.0), Sc(1.0)) * Sc(255.0)).round().to(ScalarType.Byte);
        return ImageCodec.EncodePng(bytes.permute(1, 2, 0));
    }

    /// <summary>Writes <paramref name="bytes"/> to a temporary file beside <paramref name="path"/> and moves it into place.</summary>
    public static void WriteAtomically(string path, byte[] bytes)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        var temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new IOException($"cannot write image '{path}': {e.Message}", e);
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
