using System.Buffers.Binary;
using SkiaSharp;
using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Images;

/// <summary>The SkiaSharp codec: PNG, JPEG and WebP in, PNG out, the header before the pixels, EXIF orientation in
/// JPEG and PNG, and clear errors. Fixtures: tests/fixtures/images (README there).</summary>
public sealed class ImageCodecTests
{
    private static byte[] Fixture(string name) => File.ReadAllBytes(ImageLoaderTests.Fixture(name));

    private static byte[] Pixel(Tensor hwc, long y, long x) => hwc[y, x].ToArray<byte>();

    private static void Near(byte[] expected, byte[] actual, int tolerance)
    {
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance,
                $"expected ({string.Join(", ", expected)}) ± {tolerance}, got ({string.Join(", ", actual)})");
    }

    [Fact]
    public void Png_round_trip_is_exact_for_rgb_gray_and_rgba()
    {
        using var scope = torch.NewDisposeScope();
        var rgb = torch.randint(0, 256, [5, 7, 3], ScalarType.Byte, generator: new Generator(3));
        Assert.Equal(rgb.ToArray<byte>(), ImageCodec.DecodeRgb(ImageCodec.EncodePng(rgb)).ToArray<byte>());
        byte[] rgba = [10, 20, 30, 255, 200, 100, 50, 0];
        var decoded = ImageCodec.DecodeRgb(ImageCodec.EncodePng(torch.tensor(rgba, [1, 2, 4])));
        Assert.Equal([10, 20, 30, 255, 255, 255], decoded.ToArray<byte>()); // transparent → white
        var gray = ImageCodec.DecodeRgb(ImageCodec.EncodePng(torch.tensor(new byte[] { 0, 77, 255 }, [1, 3, 1])));
        Assert.Equal([0, 0, 0, 77, 77, 77, 255, 255, 255], gray.ToArray<byte>());
    }

    [Fact]
    public void Png_fixtures_decode_to_known_colours()
    {
        using var scope = torch.NewDisposeScope();
        var q = ImageCodec.DecodeRgb(Fixture("quadrants.png"));
        Assert.Equal([16L, 32, 3], q.shape);
        Assert.Equal([255, 0, 0], Pixel(q, 0, 0));
        Assert.Equal([0, 255, 0], Pixel(q, 7, 16));
        Assert.Equal([0, 0, 255], Pixel(q, 8, 15));
        Assert.Equal([255, 255, 255], Pixel(q, 15, 31));
        var rgba = ImageCodec.DecodeRgb(Fixture("rgba.png"));
        Assert.Equal([2L, 4, 3], rgba.shape);
        Assert.Equal([255, 0, 0], Pixel(rgba, 0, 0));
        var half = Pixel(rgba, 0, 1); // red at alpha 128 over white: 255·(1 − 128/255) = 127
        Assert.Equal([255, 127, 127], half);
        Assert.Equal([255, 255, 255], Pixel(rgba, 1, 2));
        Assert.Equal([255, 255, 255], Pixel(rgba, 1, 3));
        var g16 = ImageCodec.DecodeRgb(Fixture("gray16.png")); // 0x0000, 0x8080, 0xFFFF, 0x1234
        Assert.Equal([1L, 4, 3], g16.shape);
        Assert.Equal([0, 0, 0], Pixel(g16, 0, 0));
        Assert.Equal([128, 128, 128], Pixel(g16, 0, 1));
        Assert.Equal([255, 255, 255], Pixel(g16, 0, 2));
        Near([18, 18, 18], Pixel(g16, 0, 3), 1); // 0x1234 / 257 = 18.1
        var pal = ImageCodec.DecodeRgb(Fixture("palette.png"));
        Assert.Equal([255, 0, 0], Pixel(pal, 1, 1));
        Assert.Equal([0, 0, 255], Pixel(pal, 1, 2));
    }

    [Fact]
    public void Jpeg_fixtures_decode_within_tolerance()
    {
        using var scope = torch.NewDisposeScope();
        var q = ImageCodec.DecodeRgb(Fixture("quadrants.jpg"));
        Assert.Equal([16L, 32, 3], q.shape);
        Near([255, 0, 0], Pixel(q, 4, 8), 8);
        Near([0, 255, 0], Pixel(q, 4, 24), 8);
        Near([0, 0, 255], Pixel(q, 12, 8), 8);
        Near([255, 255, 255], Pixel(q, 12, 24), 8);
        var gray = ImageCodec.DecodeRgb(Fixture("gray.jpg"));
        Assert.Equal([16L, 16, 3], gray.shape);
        Assert.All(gray.ToArray<byte>(), v => Assert.InRange(v, 98, 102));
        var progressive = ImageCodec.DecodeRgb(Fixture("quadrants_progressive.jpg"));
        Assert.Equal([16L, 32, 3], progressive.shape);
        Near([0, 255, 0], Pixel(progressive, 4, 24), 8);
        Near([0, 0, 255], Pixel(progressive, 12, 8), 8);
    }

    [Fact]
    public void Webp_decodes_lossless_exactly()
    {
        using var scope = torch.NewDisposeScope();
        var rgb = torch.randint(0, 256, [6, 9, 3], ScalarType.Byte, generator: new Generator(5));
        var webp = EncodeWebpLossless(rgb);
        var header = ImageCodec.ReadHeader(webp);
        Assert.Equal(("webp", 9, 6, 1), (header.Format, header.Width, header.Height, header.Orientation));
        Assert.Equal(rgb.ToArray<byte>(), ImageCodec.DecodeRgb(webp).ToArray<byte>());
    }

    [Fact]
    public void The_header_is_read_without_the_pixels()
    {
        var png = Fixture("quadrants.png");
        // Everything up to the image data's chunk header: enough for the size, not for a single pixel.
        var idat = png.AsSpan().IndexOf("IDAT"u8);
        var header = ImageCodec.ReadHeader(png.AsSpan(0, idat + 4));
        Assert.Equal(("png", 32, 16, 1), (header.Format, header.Width, header.Height, header.Orientation));
        var six = ImageCodec.ReadHeader(Fixture("quadrants_exif6.jpg"));
        Assert.Equal((32, 16, 6, 16, 32), (six.Width, six.Height, six.Orientation, six.UprightWidth, six.UprightHeight));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(6)]
    [InlineData(8)]
    public void Png_exif_orientation_is_applied_like_jpeg(int orientation)
    {
        using var scope = torch.NewDisposeScope();
        var png = Fixture("quadrants.png");
        var tagged = WithExifChunk(png, orientation);
        Assert.Equal(orientation, ImageCodec.ReadHeader(tagged).Orientation);
        var expected = ExifOrientation.Apply(ImageCodec.DecodeRgb(png), orientation);
        Assert.Equal(expected.shape, ImageCodec.DecodeRgb(tagged).shape);
        Assert.Equal(expected.ToArray<byte>(), ImageCodec.DecodeRgb(tagged).ToArray<byte>());
    }

    [Fact]
    public void Bad_bytes_give_clear_errors_and_leave_nothing_behind()
    {
        var baseline = LiveTensors.Count;
        var jpeg = Fixture("quadrants.jpg");
        var png = Fixture("quadrants.png");
        Assert.Equal("not a PNG, JPEG or WebP image", Fails("hello, world\n"u8.ToArray()));
        Assert.Equal("not a PNG, JPEG or WebP image", Fails([]));
        Assert.StartsWith("truncated JPEG", Fails(jpeg[..40]));
        Assert.StartsWith("truncated PNG", Fails(png[..60]));
        var flipped = (byte[])png.Clone();
        flipped[20] ^= 0xFF; // inside IHDR: its CRC no longer matches
        Assert.Contains("PNG", Fails(flipped));
        Assert.Equal(baseline, LiveTensors.Count);
        using var ok = ImageCodec.DecodeRgb(jpeg); // still alive and working
        Assert.Equal([16L, 32, 3], ok.shape);
    }

    [Fact]
    public void Encode_rejects_what_it_cannot_write()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Contains("uint8", Assert.Throws<ArgumentException>(() => ImageCodec.EncodePng(torch.zeros(2, 2, 3))).Message);
        Assert.Contains("[H, W, 1|3|4]",
            Assert.Throws<ArgumentException>(() => ImageCodec.EncodePng(torch.zeros([2, 2], ScalarType.Byte))).Message);
        Assert.Contains("[H, W, 1|3|4]",
            Assert.Throws<ArgumentException>(() => ImageCodec.EncodePng(torch.zeros([2, 2, 2], ScalarType.Byte))).Message);
        Assert.Contains("empty",
            Assert.Throws<ArgumentException>(() => ImageCodec.EncodePng(torch.zeros([0, 2, 3], ScalarType.Byte))).Message);
    }

    private static string Fails(byte[] bytes) => Assert.Throws<ImageFormatException>(() => ImageCodec.DecodeRgb(bytes)).Message;

    private static byte[] EncodeWebpLossless(Tensor rgb)
    {
        var h = (int)rgb.size(0);
        var w = (int)rgb.size(1);
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var px = rgb.ToArray<byte>();
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var i = (y * w + x) * 3;
                bitmap.SetPixel(x, y, new SKColor(px[i], px[i + 1], px[i + 2]));
            }
        using var data = bitmap.PeekPixels().Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100));
        return data!.ToArray();
    }

    /// <summary>The PNG with an eXIf chunk (a big-endian TIFF with one IFD0 entry, Orientation) before IDAT.</summary>
    internal static byte[] WithExifChunk(byte[] png, int orientation)
    {
        var tiff = new byte[8 + 2 + 12 + 4];
        "MM"u8.CopyTo(tiff);
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(2), 42);
        BinaryPrimitives.WriteUInt32BigEndian(tiff.AsSpan(4), 8);
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(10), 0x0112);
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(12), 3);
        BinaryPrimitives.WriteUInt32BigEndian(tiff.AsSpan(14), 1);
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(18), (ushort)orientation);
        var chunk = new byte[12 + tiff.Length];
        BinaryPrimitives.WriteUInt32BigEndian(chunk, (uint)tiff.Length);
        "eXIf"u8.CopyTo(chunk.AsSpan(4));
        tiff.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + tiff.Length), Crc32Png(chunk.AsSpan(4, 4 + tiff.Length)));
        const int afterIhdr = 8 + 25; // signature, then IHDR (4 + 4 + 13 + 4 bytes)
        return [.. png[..afterIhdr], .. chunk, .. png[afterIhdr..]];
    }

    // PNG's CRC-32 (ISO-HDLC, reflected 0xEDB88320).
    private static uint Crc32Png(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
