using SkiaSharp;
using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Images;

/// <summary>Issue 14 item 5: a huge JPEG is downscaled while decoding when only a small side is needed; decoding
/// stops when cancelled; images of ordinary size decode exactly as before.</summary>
public sealed class ScaledDecodeTests
{
    private static byte[] Jpeg(int width, int height)
    {
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        bitmap.Erase(new SKColor(200, 100, 50));
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 80);
        return data.ToArray();
    }

    [Fact]
    public void A_huge_jpeg_decodes_small_when_a_small_side_is_enough()
    {
        using var scope = torch.NewDisposeScope();
        var jpeg = Jpeg(6400, 3200); // 20.5 MP, over ScaledDecodePixels
        Assert.True(6400L * 3200 > ImageCodec.ScaledDecodePixels);
        var small = ImageCodec.DecodeRgb(jpeg, 64, CancellationToken.None);
        Assert.Equal(new long[] { 400, 800, 3 }, small.shape); // 1/8: the shorter side 400 ≥ 64
        var needsMore = ImageCodec.DecodeRgb(jpeg, 1000, CancellationToken.None);
        Assert.True(needsMore.size(0) >= 1000 && needsMore.size(0) < 3200, $"{needsMore.size(0)}");
        var near = small[200, 400].ToArray<byte>();
        Assert.True(Math.Abs(near[0] - 200) <= 3 && Math.Abs(near[1] - 100) <= 3 && Math.Abs(near[2] - 50) <= 3);
    }

    [Fact]
    public void An_ordinary_image_decodes_exactly_as_without_a_size_hint()
    {
        using var scope = torch.NewDisposeScope();
        var jpeg = Jpeg(640, 480);
        Assert.Equal(ImageCodec.DecodeRgb(jpeg).ToArray<byte>(), ImageCodec.DecodeRgb(jpeg, 64, CancellationToken.None).ToArray<byte>());
    }

    [Fact]
    public void Cancelling_stops_decoding()
    {
        var jpeg = Jpeg(4000, 4000);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => ImageCodec.DecodeRgb(jpeg, null, cancelled.Token));
    }
}
