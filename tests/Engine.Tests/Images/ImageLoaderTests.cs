using System.Buffers.Binary;
using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Images;

/// <summary>ImageLoader on the image fixtures (32x16 quadrants: red top-left, green top-right, blue bottom-left, white
/// bottom-right), EXIF orientation, and the errors for unusable files.</summary>
public sealed class ImageLoaderTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    internal static string Fixture(string name) => Path.Combine(FixturePaths.Root, "images", name);

    // Colour (in [-1, 1]) at the centre of each quadrant of a [1, 3, H, W] image: TL, TR, BL, BR.
    private static float[][] Corners(Tensor image)
    {
        long h = image.size(2), w = image.size(3);
        (long y, long x)[] at = [(h / 4, w / 4), (h / 4, 3 * w / 4), (3 * h / 4, w / 4), (3 * h / 4, 3 * w / 4)];
        return at.Select(p => image.select(0, 0).select(1, p.y).select(1, p.x).ToArray<float>()).ToArray();
    }

    private static readonly float[] Red = [1, -1, -1], Green = [-1, 1, -1], Blue = [-1, -1, 1], White = [1, 1, 1];

    private static void AssertColours(Tensor image, params float[][] expected)
    {
        var actual = Corners(image);
        for (var i = 0; i < 4; i++)
            for (var c = 0; c < 3; c++)
                Assert.True(Math.Abs(actual[i][c] - expected[i][c]) <= 0.07,
                    $"corner {i}: expected ({string.Join(", ", expected[i])}), got ({string.Join(", ", actual[i])})");
    }

    [Fact]
    public void Png_loads_as_float_minus_one_to_one()
    {
        using var scope = torch.NewDisposeScope();
        var image = ImageLoader.Load(Fixture("quadrants.png"));
        Assert.Equal([1L, 3, 16, 32], image.shape);
        Assert.Equal(ScalarType.Float32, image.dtype);
        Assert.Equal(Red, image.select(0, 0).select(1, 0).select(1, 0).ToArray<float>()); // exact
        Assert.Equal(White, image.select(0, 0).select(1, 15).select(1, 31).ToArray<float>());
        AssertColours(image, Red, Green, Blue, White);
        // (v/255 − 0.5)/0.5 on a uint8 gray level
        var gray = ImageLoader.Load(Fixture("gray.jpg"));
        Assert.All(gray.ToArray<float>(), v => Assert.InRange(v, (98 / 255f - 0.5f) / 0.5f, (102 / 255f - 0.5f) / 0.5f));
    }

    [Fact]
    public void Jpeg_exif_orientation_from_the_fixtures()
    {
        using var scope = torch.NewDisposeScope();
        AssertColours(ImageLoader.Load(Fixture("quadrants.jpg")), Red, Green, Blue, White);
        var six = ImageLoader.Load(Fixture("quadrants_exif6.jpg")); // stored rotated: shown turned 90° clockwise
        Assert.Equal([1L, 3, 32, 16], six.shape);
        AssertColours(six, Blue, Red, White, Green);
        var three = ImageLoader.Load(Fixture("quadrants_exif3.jpg")); // upside down
        Assert.Equal([1L, 3, 16, 32], three.shape);
        AssertColours(three, White, Blue, Green, Red);
    }

    [Theory]
    [InlineData(1, true)] [InlineData(2, true)] [InlineData(3, false)] [InlineData(4, false)]
    [InlineData(5, true)] [InlineData(6, false)] [InlineData(7, true)] [InlineData(8, false)]
    public void Every_exif_orientation(int orientation, bool littleEndian)
    {
        using var scope = torch.NewDisposeScope();
        var plain = File.ReadAllBytes(Fixture("quadrants.jpg"));
        var tagged = WithOrientation(plain, orientation, littleEndian);
        Assert.Equal(orientation, ImageCodec.ReadHeader(tagged).Orientation);
        var stored = ImageLoader.Decode(plain, "plain");
        var shown = ImageLoader.Decode(tagged, "tagged");
        long h = stored.size(0), w = stored.size(1);
        Assert.Equal(orientation >= 5 ? [w, h, 3L] : [h, w, 3L], shown.shape);
        // Where each displayed pixel (r, c) comes from in the stored image, per the EXIF specification.
        Func<long, long, (long, long)> source = orientation switch
        {
            1 => (r, c) => (r, c), 2 => (r, c) => (r, w - 1 - c), 3 => (r, c) => (h - 1 - r, w - 1 - c),
            4 => (r, c) => (h - 1 - r, c), 5 => (r, c) => (c, r), 6 => (r, c) => (h - 1 - c, r),
            7 => (r, c) => (h - 1 - c, w - 1 - r), _ => (r, c) => (c, w - 1 - r),
        };
        var s = stored.ToArray<byte>();
        var d = shown.ToArray<byte>();
        var shownW = shown.size(1);
        for (long r = 0; r < shown.size(0); r++)
            for (long c = 0; c < shownW; c++)
            {
                var (sr, sc) = source(r, c);
                for (var k = 0; k < 3; k++) Assert.Equal(s[(sr * w + sc) * 3 + k], d[(r * shownW + c) * 3 + k]);
            }
    }

    [Fact]
    public void Orientation_reader_ignores_what_it_cannot_use()
    {
        var plain = File.ReadAllBytes(Fixture("quadrants.jpg"));
        Assert.Equal(1, ImageCodec.ReadHeader(plain).Orientation);
        Assert.Equal(1, ImageCodec.ReadHeader(File.ReadAllBytes(Fixture("quadrants.png"))).Orientation);
        Assert.Equal(1, ImageCodec.ReadHeader(WithOrientation(plain, 9, true)).Orientation);
        Assert.Equal(6, ImageCodec.ReadHeader(File.ReadAllBytes(Fixture("quadrants_exif6.jpg"))).Orientation);
    }

    [Fact]
    public void Unusable_files_name_the_path()
    {
        var jpeg = File.ReadAllBytes(Fixture("quadrants.jpg"));
        Fails(dir.Write("notes.png", "just some text\n"u8.ToArray()), "cannot decode", "not a PNG, JPEG or WebP image");
        Fails(dir.Write("cut.jpg", jpeg[..(jpeg.Length / 2)]), "cannot decode", "truncated JPEG");
        Fails(dir.Write("noise.jpg", [0xFF, 0xD8, 0xFF, 0x00, 1, 2, 3, 4, 5, 6, 7, 8]), "cannot decode", "JPEG");
        Fails(dir.File("missing.png"), "cannot read");
        Fails(dir.Path, "cannot read");
        var small = Fails(Fixture("quadrants.png"), "32x16", "at least 64 pixels");
        Assert.Equal(Fixture("quadrants.png"), small.FilePath);
        using var ok = ImageLoader.Load(Fixture("quadrants.png")); // and everything still works
    }

    private static ImageLoadException Fails(string path, params string[] expected)
    {
        var e = Assert.Throws<ImageLoadException>(() => ImageLoader.Load(path, minSide: 64).Dispose());
        Assert.Contains(path, e.Message);
        foreach (var s in expected) Assert.Contains(s, e.Message);
        return e;
    }

    /// <summary>The JPEG with an APP1 Exif segment holding one IFD0 entry, Orientation = value, inserted after SOI.</summary>
    internal static byte[] WithOrientation(byte[] jpeg, int value, bool littleEndian)
    {
        var tiff = new byte[8 + 2 + 12 + 4];
        void U16(int at, int v) { if (littleEndian) BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(at), (ushort)v); else BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(at), (ushort)v); }
        void U32(int at, int v) { if (littleEndian) BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(at), (uint)v); else BinaryPrimitives.WriteUInt32BigEndian(tiff.AsSpan(at), (uint)v); }
        tiff[0] = tiff[1] = (byte)(littleEndian ? 'I' : 'M');
        U16(2, 42);
        U32(4, 8);      // IFD0 right after the header
        U16(8, 1);      // one entry
        U16(10, 0x0112); // Orientation
        U16(12, 3);     // SHORT
        U32(14, 1);     // one value
        U16(18, value);
        U32(22, 0);     // no next IFD
        var payload = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        var segment = new byte[4 + payload.Length];
        segment[0] = 0xFF;
        segment[1] = 0xE1;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), (ushort)(2 + payload.Length));
        payload.CopyTo(segment, 4);
        return [.. jpeg[..2], .. segment, .. jpeg[2..]];
    }
}
