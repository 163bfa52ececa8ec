using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.IO;

/// <summary>
/// The EXIF Orientation tag's application to a decoded [H, W, C] image with flips and a transpose (the codec reads the
/// tag: <see cref="ImageHeader.Orientation"/>).
/// Values: 1 normal, 2 mirrored, 3 rotated 180°, 4 flipped vertically, 5 transposed, 6 rotated 90° clockwise to
/// display, 7 transversed, 8 rotated 90° counter-clockwise to display.
/// </summary>
public static class ExifOrientation
{
    /// <summary>Turns an [H, W, C] image stored with <paramref name="orientation"/> into the upright image a viewer
    /// shows (for 5–8 the result is [W, H, C]). Returns a new tensor (a copy for 1).</summary>
    public static Tensor Apply(Tensor hwc, int orientation)
    {
        ArgumentNullException.ThrowIfNull(hwc);
        if (hwc.dim() != 3) throw new ArgumentException($"expected an [H, W, C] image, got {hwc}", nameof(hwc));
        using var scope = torch.NewDisposeScope();
        var upright = orientation switch
        {
            1 => hwc.clone(),
            2 => hwc.flip(1),
            3 => hwc.flip(0, 1),
            4 => hwc.flip(0),
            5 => hwc.transpose(0, 1).contiguous(),
            6 => hwc.transpose(0, 1).flip(1),
            7 => hwc.transpose(0, 1).flip(0, 1),
            8 => hwc.transpose(0, 1).flip(0),
            _ => throw new ArgumentOutOfRangeException(nameof(orientation), orientation, "EXIF orientation lies in 1..8"),
        };
        return upright.MoveToOuterDisposeScope();
    }
}
