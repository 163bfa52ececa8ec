using System.Buffers.Binary;

namespace TLoRA.Engine.IO;

/// <summary>
/// The EXIF Orientation tag (0x0112) of a PNG's eXIf chunk (PNG 1.5 extension; Skia reads EXIF only from JPEG and
/// WebP). Metadata only: the chunks before the first IDAT are walked, and the chunk's TIFF header and IFD0 are read,
/// either byte order.
/// </summary>
public static class PngExif
{
    private const ushort OrientationTag = 0x0112;
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The orientation (1–8) in <paramref name="png"/>'s eXIf chunk, or 1 when the bytes are not a PNG, have
    /// no eXIf chunk before the image data, no orientation tag, or a malformed one.</summary>
    public static int Orientation(ReadOnlySpan<byte> png)
    {
        if (!png.StartsWith(Signature)) return 1;
        var pos = Signature.Length;
        while (pos + 8 <= png.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(png[pos..]);
            var type = png.Slice(pos + 4, 4);
            if (type.SequenceEqual("IDAT"u8) || type.SequenceEqual("IEND"u8)) return 1;
            if (length > int.MaxValue || pos + 12L + length > png.Length) return 1;
            if (type.SequenceEqual("eXIf"u8)) return FromTiff(png.Slice(pos + 8, (int)length));
            pos += 12 + (int)length;
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
}
