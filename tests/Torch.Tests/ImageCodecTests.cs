namespace TLoRA.Torch.Tests;

/// <summary>torch.io: PNG and JPEG decoding through libpng / libjpeg-turbo, PNG encoding, and error reporting.</summary>
public class ImageCodecTests
{
    private static readonly Lazy<string> ImagesDir = new(() =>
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, "tests", "fixtures", "images");
            if (Directory.Exists(p)) return p;
        }
        throw new DirectoryNotFoundException("tests/fixtures/images not found");
    });

    private static byte[] Fixture(string name) => File.ReadAllBytes(Path.Combine(ImagesDir.Value, name));

    private static byte[] Pixel(Tensor hwc, int y, int x) => hwc.select(0, y).select(0, x).ToArray<byte>();

    private static void Near(byte[] expected, byte[] actual, int tolerance)
    {
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"expected ({string.Join(", ", expected)}), got ({string.Join(", ", actual)})");
    }

    [Fact]
    public void Png_round_trip_is_exact()
    {
        using var scope = torch.NewDisposeScope();
        var image = torch.randint(0, 256, [7, 13, 3], new Generator(3), ScalarType.Byte);
        var png = torch.io.encode_png(image);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        var back = torch.io.decode_image(png);
        Assert.Equal(ScalarType.Byte, back.dtype);
        Assert.Equal([7L, 13, 3], back.shape);
        Assert.Equal(image.ToArray<byte>(), back.ToArray<byte>());
        // A non-contiguous view encodes what it shows.
        var t = image.transpose(0, 1);
        Assert.Equal(t.contiguous().ToArray<byte>(), torch.io.decode_image(torch.io.encode_png(t)).ToArray<byte>());
    }

    [Fact]
    public void Rgba_and_gray_encode_and_decode_to_rgb()
    {
        using var scope = torch.NewDisposeScope();
        byte[] rgba = [10, 20, 30, 255, 200, 100, 50, 0];
        var decoded = torch.io.decode_image(torch.io.encode_png(torch.tensor(rgba, 1, 2, 4)));
        Assert.Equal([10, 20, 30, 255, 255, 255], decoded.ToArray<byte>()); // transparent → white
        var gray = torch.io.decode_image(torch.io.encode_png(torch.tensor(new byte[] { 0, 77, 255 }, 1, 3, 1)));
        Assert.Equal([0, 0, 0, 77, 77, 77, 255, 255, 255], gray.ToArray<byte>());
    }

    [Fact]
    public void Png_fixtures_decode_to_known_colours()
    {
        using var scope = torch.NewDisposeScope();
        var q = torch.io.decode_image(Fixture("quadrants.png"));
        Assert.Equal([16L, 32, 3], q.shape);
        Assert.Equal([255, 0, 0], Pixel(q, 0, 0));
        Assert.Equal([0, 255, 0], Pixel(q, 7, 16));
        Assert.Equal([0, 0, 255], Pixel(q, 8, 15));
        Assert.Equal([255, 255, 255], Pixel(q, 15, 31));
        var rgba = torch.io.decode_image(Fixture("rgba.png"));
        Assert.Equal([2L, 4, 3], rgba.shape);
        Assert.Equal([255, 0, 0], Pixel(rgba, 0, 0));
        var half = Pixel(rgba, 0, 1); // 50 % red over white: red stays, green and blue in between
        Assert.Equal(255, half[0]);
        Assert.InRange(half[1], 100, 200);
        Assert.Equal(half[1], half[2]);
        Assert.Equal([255, 255, 255], Pixel(rgba, 1, 2));
        Assert.Equal([255, 255, 255], Pixel(rgba, 1, 3));
        var g16 = torch.io.decode_image(Fixture("gray16.png")); // 0x0000, 0x8080, 0xFFFF, 0x1234
        Assert.Equal([1L, 4, 3], g16.shape);
        Assert.Equal([0, 0, 0], Pixel(g16, 0, 0));
        Assert.Equal([128, 128, 128], Pixel(g16, 0, 1));
        Assert.Equal([255, 255, 255], Pixel(g16, 0, 2));
        Near([18, 18, 18], Pixel(g16, 0, 3), 1); // 0x1234 / 257 = 18.1
        var pal = torch.io.decode_image(Fixture("palette.png"));
        Assert.Equal([255, 0, 0], Pixel(pal, 1, 1));
        Assert.Equal([0, 0, 255], Pixel(pal, 1, 2));
    }

    [Fact]
    public void Jpeg_fixtures_decode_within_tolerance()
    {
        using var scope = torch.NewDisposeScope();
        var q = torch.io.decode_image(Fixture("quadrants.jpg"));
        Assert.Equal([16L, 32, 3], q.shape);
        Near([255, 0, 0], Pixel(q, 4, 8), 8);
        Near([0, 255, 0], Pixel(q, 4, 24), 8);
        Near([0, 0, 255], Pixel(q, 12, 8), 8);
        Near([255, 255, 255], Pixel(q, 12, 24), 8);
        var gray = torch.io.decode_image(Fixture("gray.jpg"));
        Assert.Equal([16L, 16, 3], gray.shape);
        Assert.All(gray.ToArray<byte>(), v => Assert.InRange(v, 98, 102));
        // A baseline file missing only its final EOI marker still holds every pixel.
        var jpeg = Fixture("quadrants.jpg");
        Assert.Equal(q.ToArray<byte>(), torch.io.decode_image(jpeg.AsSpan(0, jpeg.Length - 2)).ToArray<byte>());
        var progressive = torch.io.decode_image(Fixture("quadrants_progressive.jpg"));
        Assert.Equal([16L, 32, 3], progressive.shape);
        Near([0, 255, 0], Pixel(progressive, 4, 24), 8);
        Near([0, 0, 255], Pixel(progressive, 12, 8), 8);
        // EXIF orientation is metadata: the codec returns the stored pixels.
        Assert.Equal([16L, 32, 3], torch.io.decode_image(Fixture("quadrants_exif6.jpg")).shape);
    }

    [Fact]
    public void Bad_bytes_give_clear_errors_and_the_process_survives()
    {
        using var leak = new NoLeak();
        using var scope = torch.NewDisposeScope();
        var jpeg = Fixture("quadrants.jpg");
        var png = Fixture("quadrants.png");
        Assert.StartsWith("not a PNG or JPEG image", Assert.Throws<TorchException>(() => torch.io.decode_image("hello, world\n"u8)).Message);
        Assert.StartsWith("not a PNG or JPEG image", Assert.Throws<TorchException>(() => torch.io.decode_image([])).Message);
        var truncated = Assert.Throws<TorchException>(() => torch.io.decode_image(jpeg.AsSpan(0, jpeg.Length / 2))).Message;
        Assert.Contains("JPEG", truncated);
        Assert.Contains("truncated", truncated);
        Assert.StartsWith("truncated JPEG", Assert.Throws<TorchException>(() => torch.io.decode_image(jpeg.AsSpan(0, 40))).Message);
        var progressive = Fixture("quadrants_progressive.jpg");
        Assert.StartsWith("truncated JPEG", Assert.Throws<TorchException>(() => torch.io.decode_image(progressive.AsSpan(0, progressive.Length * 2 / 3))).Message);
        Assert.StartsWith("truncated JPEG", Assert.Throws<TorchException>(() => torch.io.decode_image(progressive.AsSpan(0, progressive.Length - 2))).Message);
        var garbage = jpeg[..3].Concat(Enumerable.Repeat((byte)0x5A, 200)).ToArray(); // SOI, then marker 0xFF5A
        Assert.StartsWith("corrupt JPEG: ", Assert.Throws<TorchException>(() => torch.io.decode_image(garbage)).Message);
        Assert.StartsWith("corrupt PNG: ", Assert.Throws<TorchException>(() => torch.io.decode_image(png.AsSpan(0, png.Length - 30))).Message);
        var flipped = (byte[])png.Clone();
        flipped[20] ^= 0xFF; // inside IHDR: its CRC no longer matches
        Assert.StartsWith("corrupt PNG: ", Assert.Throws<TorchException>(() => torch.io.decode_image(flipped)).Message);
        Assert.StartsWith("corrupt PNG: ", Assert.Throws<TorchException>(() => torch.io.decode_image(png.AsSpan(0, 8))).Message);
        // Still alive and working.
        Assert.Equal([16L, 32, 3], torch.io.decode_image(jpeg).shape);
    }

    [Fact]
    public void Encode_rejects_what_it_cannot_write()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Contains("uint8", Assert.Throws<TorchException>(() => torch.io.encode_png(torch.zeros(2, 2, 3))).Message);
        Assert.Contains("[H, W, C]", Assert.Throws<TorchException>(() => torch.io.encode_png(torch.zeros([2, 2], ScalarType.Byte))).Message);
        Assert.Contains("channels", Assert.Throws<TorchException>(() => torch.io.encode_png(torch.zeros([2, 2, 2], ScalarType.Byte))).Message);
        Assert.Contains("size", Assert.Throws<TorchException>(() => torch.io.encode_png(torch.zeros([0, 2, 3], ScalarType.Byte))).Message);
    }
}
