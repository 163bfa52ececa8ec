using static TLoRA.Torch.Tests.Check;
using F = TLoRA.Torch.torch.nn.functional;

namespace TLoRA.Torch.Tests;

/// <summary>F.interpolate(mode: "bilinear") against values worked out by hand from PyTorch's sampling rule:
/// align_corners false maps output x to input (x + 0.5)·(in/out) − 0.5, clamped at 0; true maps x to x·(in−1)/(out−1).</summary>
public class BilinearInterpolationTests
{
    [Fact]
    public void Upscale_two_by_two()
    {
        using var scope = torch.NewDisposeScope();
        var x = T([1, 2, 3, 4], 1, 1, 2, 2);
        // Along each axis the 4 outputs sit at −0.25 (clamped to 0), 0.25, 0.75, 1.25 (past the last pixel: 1), so the
        // weights of the second pixel are w = 0, ¼, ¾, 1 and the value is 1 + w_x + 2·w_y.
        double[] w = [0, 0.25, 0.75, 1];
        var expected = (from i in w from j in w select 1 + j + 2 * i).ToArray();
        Close(expected, F.interpolate(x, size: (4, 4), mode: "bilinear"));
        Close(expected, F.interpolate(x, scale_factor: 2, mode: "bilinear"));
        // align_corners: positions 0, ⅓, ⅔, 1
        double[] c = [0, 1.0 / 3, 2.0 / 3, 1];
        Close((from i in c from j in c select 1 + j + 2 * i).ToArray(), F.interpolate(x, size: (4, 4), mode: "bilinear", align_corners: true));
        // 2 → 3: positions −⅙ (→ 0), ½, 7/6 (→ 1)
        Close([1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4], F.interpolate(x, size: (3, 3), mode: "bilinear"));
        Check.Shape(F.interpolate(torch.ones(2, 3, 5, 7), size: (4, 9), mode: "bilinear"), 2, 3, 4, 9);
    }

    [Fact]
    public void Downscale_with_and_without_antialias()
    {
        using var scope = torch.NewDisposeScope();
        var row = T([0, 1, 2, 3], 1, 1, 1, 4);
        // Plain bilinear 4 → 2 samples at 0.5 and 2.5: the mean of pixel pairs.
        Close([0.5, 2.5], F.interpolate(row, size: (1, 2), mode: "bilinear"));
        // Antialiased: a triangle filter twice as wide, centred at 1 and 3 (pixel centres 0.5, 1.5, 2.5, 3.5), weights
        // 1 − |d|/2 → ¾, ¾, ¼ normalised to 3/7, 3/7, 1/7.
        Close([(0 * 3 + 1 * 3 + 2 * 1) / 7.0, (1 * 1 + 2 * 3 + 3 * 3) / 7.0], F.interpolate(row, size: (1, 2), mode: "bilinear", antialias: true));
        // Upscaling is the same with or without antialias.
        var x = T([1, 2, 3, 4], 1, 1, 2, 2);
        Close(F.interpolate(x, size: (4, 4), mode: "bilinear"), F.interpolate(x, size: (4, 4), mode: "bilinear", antialias: true));
    }

    [Fact]
    public void Bad_arguments()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.ones(1, 1, 2, 2);
        Assert.Throws<ArgumentException>(() => F.interpolate(x, size: (3, 3), mode: "bicubic"));
        Assert.Throws<ArgumentException>(() => F.interpolate(x, size: (3, 3), align_corners: true));
        Assert.Throws<ArgumentException>(() => F.interpolate(x, size: (3, 3), antialias: true));
        var e = Assert.Throws<TorchException>(() => F.interpolate(torch.ones(2, 2), size: (3, 3), mode: "bilinear"));
        Assert.Contains("NCHW", e.Message);
    }
}
