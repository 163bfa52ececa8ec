using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.IO;

/// <summary>Training-image geometry as diffusers' training scripts do it with torchvision: Resize(resolution) on the
/// shorter side, then CenterCrop(resolution).</summary>
public static class ImagePreprocess
{
    /// <summary>Resizes a float image [1, C, H, W] or [C, H, W] so its shorter side is <paramref name="resolution"/>
    /// (the longer side becomes floor(resolution·long/short), as torchvision), then crops the centre
    /// resolution × resolution square. Resizing is bilinear with antialiasing (PyTorch's antialias=True, close to PIL's
    /// bilinear resize, which torchvision uses on PIL images); upscaling is plain bilinear. The result has the input's rank.</summary>
    public static Tensor ResizeShorterSideAndCenterCrop(Tensor image, int resolution) =>
        ResizeShorterSideAndCenterCrop(image, resolution, out _, out _);

    /// <summary>As <see cref="ResizeShorterSideAndCenterCrop(Tensor, int)"/>, also giving the crop's top-left corner in
    /// the resized image (SD-XL's crops_coords_top_left).</summary>
    public static Tensor ResizeShorterSideAndCenterCrop(Tensor image, int resolution, out int cropTop, out int cropLeft)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(resolution, 1);
        if (image.dim() is not (3 or 4) || (image.dim() == 4 && image.size(0) != 1))
            throw new ArgumentException($"expected an image [1, C, H, W] or [C, H, W], got {image}", nameof(image));
        if (image.dtype is not (ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16))
            throw new ArgumentException($"expected a floating-point image, got {image.dtype}", nameof(image));
        using var scope = torch.NewDisposeScope();
        var batched = image.dim() == 3 ? image.unsqueeze(0) : image;
        long h = batched.size(2), w = batched.size(3);
        (long newH, long newW) = h <= w
            ? (resolution, (long)Math.Floor((double)resolution * w / h))
            : ((long)Math.Floor((double)resolution * h / w), (long)resolution);
        var resized = newH == h && newW == w
            ? batched
            : torch.nn.functional.interpolate(batched, size: [newH, newW], mode: InterpolationMode.Bilinear, antialias: true);
        // torchvision's CenterCrop: offsets int(round((size − crop) / 2)), Python rounding (half to even).
        cropTop = (int)Math.Round((newH - resolution) / 2.0, MidpointRounding.ToEven);
        cropLeft = (int)Math.Round((newW - resolution) / 2.0, MidpointRounding.ToEven);
        var cropped = resized.narrow(2, cropTop, resolution).narrow(3, cropLeft, resolution).contiguous();
        var result = image.dim() == 3 ? cropped.squeeze(0) : cropped;
        return result.MoveToOuterDisposeScope();
    }
}
