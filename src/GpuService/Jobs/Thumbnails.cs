using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.GpuService.Jobs;

/// <summary>Small PNG copies of images for inline progress events.</summary>
public static class Thumbnails
{
    /// <summary>A PNG no larger than <paramref name="maxSide"/> on a side (the image itself when already small).</summary>
    public static byte[] Make(byte[] png, int maxSide = 256)
    {
        using var scope = torch.NewDisposeScope();
        var hwc = ImageCodec.DecodeRgb(png);
        var h = hwc.size(0);
        var w = hwc.size(1);
        if (Math.Max(h, w) <= maxSide) return png;
        var scale = (double)maxSide / Math.Max(h, w);
        var chw = hwc.permute(2, 0, 1).unsqueeze(0).to(ScalarType.Float32);
        var small = torch.nn.functional.interpolate(chw, [(long)Math.Max(1, Math.Round(h * scale)), (long)Math.Max(1, Math.Round(w * scale))],
            mode: InterpolationMode.Bilinear, antialias: true);
        var bytes = small.clamp(Sc(0.0), Sc(255.0)).round().to(ScalarType.Byte).squeeze(0).permute(1, 2, 0);
        return ImageCodec.EncodePng(bytes);
    }
}
