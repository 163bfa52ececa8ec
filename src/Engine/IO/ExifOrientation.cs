using System.Buffers.Binary;
using TLoRA.Torch;

namespace TLoRA.Engine.IO;

/// <summary>
/// The EXIF Orientation tag (0x0112) of a JPEG, read from its APP1 "Exif" segment (metadata only: the TIFF header and
/// IFD0, either byte order), and its application to a decoded [H, W, C] image with flips and a transpose.
/// Values: 1 normal, 2 mirrored, 3 rotated 180°, 4 flipped vertically, 5 transposed, 6 rotated 90° clockwise to
/// display, 7 transversed, 8 rotated 90° counter-clockwise to display.
/// </summary>
public static class ExifOrientation
{
    private const ushort OrientationTag = 0x0112;

    /// <summary>The orientation (1–8) in <paramref name="jpeg"/>'s EXIF data, or 1 when the bytes are not a JPEG,
    /// have no EXIF segment, no orientation tag, or a malformed one.</summary>
    public static int Read(ReadOnlySpan<byte> jpeg)
    {
        if (jpeg.Length < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) return 1;
        var pos = 2;
        while (pos + 4 <= jpeg.Length)
        {
            if (jpeg[pos] != 0xFF) return 1;
            var marker = jpeg[pos + 1];
            if (marker == 0xFF) { pos++; continue; } // fill byte
            if (marker == 0x01 || marker is >= 0xD0 and <= 0xD7) { pos += 2; continue; } // no length
            if (marker is 0xDA or 0xD9) return 1; // start of scan / end of image: metadata is over
            int length = BinaryPrimitives.ReadUInt16BigEndian(jpeg[(pos + 2)..]);
            if (length < 2 || pos + 2 + length > jpeg.Length) return 1;
            var segment = jpeg.Slice(pos + 4, length - 2);
            if (marker == 0xE1 && segment.StartsWith("Exif\0\0"u8)) return FromTiff(segment[6..]);
            pos += 2 + length;
        }
        return 1;
    }

    // TIFF header: "II" (little-endian) or "MM" (big-endian), 42, offset of IFD0; IFD0: count, 12-byte entries.
    private static int FromTiff(ReadOnlySpan<byte> tiff)
    {
        if (tiff.Length < 8) return 1;
        bool little;
        if (tiff[0] == 'I' && tiff[1] == 'I') little = true;
        else if (tiff[0] == 'M' && tiff[1] == 'M') little = false;
        else return 1;
        if (U16(tiff, 2, little) != 42) return 1;
        var ifd = U32(tiff, 4, little);
        if (ifd > tiff.Length - 2) return 1;
        int count = U16(tiff, (int)ifd, little);
        for (var i = 0; i < count; i++)
        {
            var entry = (int)ifd + 2 + 12 * i;
            if (entry + 12 > tiff.Length) return 1;
            if (U16(tiff, entry, little) != OrientationTag) continue;
            // SHORT (type 3), one value, stored in the first two bytes of the value field.
            if (U16(tiff, entry + 2, little) != 3 || U32(tiff, entry + 4, little) < 1) return 1;
            int value = U16(tiff, entry + 8, little);
            return value is >= 1 and <= 8 ? value : 1;
        }
        return 1;
    }

    private static ushort U16(ReadOnlySpan<byte> b, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(b[at..]) : BinaryPrimitives.ReadUInt16BigEndian(b[at..]);

    private static uint U32(ReadOnlySpan<byte> b, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(b[at..]) : BinaryPrimitives.ReadUInt32BigEndian(b[at..]);

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
