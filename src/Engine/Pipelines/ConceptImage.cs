using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Pipelines;

/// <summary>
/// The training image at the training resolution ([1, 3, R, R] in [-1, 1]) and where it came from: the original size
/// and the crop's top-left corner, which SD-XL's micro-conditioning (add_time_ids) receives. Owns its tensor.
/// </summary>
public sealed record ConceptImage(Tensor Pixels, int OriginalHeight, int OriginalWidth, int CropTop, int CropLeft) : IDisposable
{
    /// <summary>Reads a PNG/JPEG (EXIF orientation applied), resizes its shorter side to <paramref name="resolution"/>
    /// and centre-crops a square, as the DreamBooth/T-LoRA trainers do.</summary>
    public static ConceptImage Load(string path, int resolution) => FromTensor(ImageLoader.Load(path, minSide: 8), resolution, path);

    /// <summary>The same from encoded bytes (the service receives the image in a request).</summary>
    public static ConceptImage Decode(ReadOnlySpan<byte> bytes, string name, int resolution, CancellationToken cancellation = default)
    {
        // a huge image may be decoded smaller (never below the resolution it is resized to), and decoding stops when cancelled
        using var hwc = ImageLoader.Decode(bytes, name, ImageLoader.DefaultMinSide, resolution, cancellation);
        return FromTensor(ImageLoader.ToModelInput(hwc), resolution, name);
    }

    private static ConceptImage FromTensor(Tensor image, int resolution, string name)
    {
        using (image)
        {
            if (resolution <= 0 || resolution % 8 != 0)
                throw new ArgumentOutOfRangeException(nameof(resolution), resolution, "resolution must be a positive multiple of 8");
            var h = (int)image.size(-2);
            var w = (int)image.size(-1);
            var pixels = ImagePreprocess.ResizeShorterSideAndCenterCrop(image, resolution, out var top, out var left);
            return new ConceptImage(pixels.DetachFromDisposeScope(), h, w, top, left);
        }
    }

    public void Dispose() => Pixels.Dispose();
}
