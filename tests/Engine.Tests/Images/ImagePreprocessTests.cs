using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Images;

/// <summary>Resize-shorter-side + centre-crop geometry, checked on ramps whose resized values are known by hand.</summary>
public sealed class ImagePreprocessTests
{
    // [1, 3, h, w] with value = column index (or row index when byRow).
    private static Tensor Ramp(long h, long w, bool byRow = false)
    {
        var data = new float[3 * h * w];
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                    data[(c * h + y) * w + x] = byRow ? y : x;
        return torch.tensor(data, 1, 3, h, w);
    }

    [Fact]
    public void Landscape_downscale_by_two_then_centre_crop()
    {
        using var scope = torch.NewDisposeScope();
        // 16x32 → 8x16 (antialiased: away from the borders each output averages a symmetric window around input
        // position 2j + 0.5, so a column ramp gives 2j + 0.5), crop columns 4..11.
        var r = ImagePreprocess.ResizeShorterSideAndCenterCrop(Ramp(16, 32), 8, out var top, out var left);
        Assert.Equal([1L, 3, 8, 8], r.shape);
        Assert.Equal((0, 4), (top, left));
        var values = r.ToArray<float>();
        for (var i = 0; i < values.Length; i++)
            Assert.Equal(2 * (4 + i % 8) + 0.5, values[i], 4);
    }

    [Fact]
    public void Portrait_without_resize_crops_rows_with_python_rounding()
    {
        using var scope = torch.NewDisposeScope();
        var r = ImagePreprocess.ResizeShorterSideAndCenterCrop(Ramp(30, 10, byRow: true), 10, out var top, out var left);
        Assert.Equal((10, 0), (top, left));
        float[] rows = [.. Enumerable.Range(10, 10).Select(v => (float)v)];
        Assert.Equal(rows, r.select(0, 0).select(0, 0).select(1, 0).ToArray<float>()); // channel 0, column 0
        Assert.Equal(rows, r.select(0, 0).select(0, 2).select(1, 9).ToArray<float>()); // channel 2, column 9
        // (15 − 10)/2 = 2.5 rounds to 2, as Python's round
        ImagePreprocess.ResizeShorterSideAndCenterCrop(Ramp(15, 10), 10, out top, out _).Dispose();
        Assert.Equal(2, top);
    }

    [Fact]
    public void Long_side_is_truncated_like_torchvision_and_rank_is_kept()
    {
        using var scope = torch.NewDisposeScope();
        // 3x10 → shorter side 4: long side floor(4·10/3) = 13, crop left round(4.5) = 4
        var r = ImagePreprocess.ResizeShorterSideAndCenterCrop(torch.ones(3, 3, 10), 4, out var top, out var left);
        Assert.Equal([3L, 4, 4], r.shape);
        Assert.Equal((0, 4), (top, left));
        Assert.All(r.ToArray<float>(), v => Assert.Equal(1f, v, 5)); // a constant stays constant
    }

    [Fact]
    public void Upscale_is_bilinear()
    {
        using var scope = torch.NewDisposeScope();
        // 2x2 [[1, 2], [3, 4]] → 4x4: positions −¼ (→ 0), ¼, ¾, 1¼ (→ 1) per axis, value 1 + w_x + 2·w_y
        var x = torch.tensor(new float[] { 1, 2, 3, 4 }, 1, 1, 2, 2).expand(1, 3, 2, 2);
        var r = ImagePreprocess.ResizeShorterSideAndCenterCrop(x, 4);
        double[] w = [0, 0.25, 0.75, 1];
        var expected = (from i in w from j in w select (float)(1 + j + 2 * i)).ToArray();
        Assert.Equal(expected, r.select(1, 2).flatten().ToArray<float>());
    }

    [Fact]
    public void Rejects_what_is_not_one_float_image()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Throws<ArgumentException>(() => ImagePreprocess.ResizeShorterSideAndCenterCrop(torch.ones(2, 3, 4, 4), 2));
        Assert.Throws<ArgumentException>(() => ImagePreprocess.ResizeShorterSideAndCenterCrop(torch.ones([3, 4, 4], ScalarType.Byte), 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImagePreprocess.ResizeShorterSideAndCenterCrop(torch.ones(3, 4, 4), 0));
    }
}
