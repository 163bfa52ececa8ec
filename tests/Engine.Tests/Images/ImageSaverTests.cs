using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Images;

/// <summary>ImageSaver: value mapping, PNG round trip through ImageLoader, atomic writes and errors.</summary>
public sealed class ImageSaverTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void Loaded_image_saves_back_to_the_same_pixels()
    {
        using var scope = torch.NewDisposeScope();
        var image = ImageLoader.Load(ImageLoaderTests.Fixture("quadrants.png"));
        var path = dir.File("out/quadrants.png"); // the folder is created
        ImageSaver.SavePng(image, path, PixelRange.MinusOneToOne);
        Assert.Equal(image.ToArray<float>(), ImageLoader.Load(path).ToArray<float>());
        ImageSaver.SavePng(image.squeeze(0), path, PixelRange.MinusOneToOne); // [3, H, W], overwriting
        Assert.Equal(image.ToArray<float>(), ImageLoader.Load(path).ToArray<float>());
        Assert.Equal(["quadrants.png"], Directory.GetFiles(dir.File("out")).Select(Path.GetFileName)); // no temp file left
    }

    [Fact]
    public void Values_are_clamped_and_rounded()
    {
        using var scope = torch.NewDisposeScope();
        // one row of 5 pixels, every channel alike
        float[] zeroOne = [-0.5f, 0, 0.5f, 0.2f, 3];
        var x = torch.tensor(zeroOne, 1, 1, 5).expand(3, 1, 5);
        var path = dir.File("a.png");
        ImageSaver.SavePng(x, path, PixelRange.ZeroToOne);
        // 0.5·255 = 127.5 rounds half to even → 128; 0.2·255 = 51
        Assert.Equal([0, 0, 128, 51, 255], ImageLoader.LoadUint8(path, minSide: 1).select(2, 0).flatten().ToArray<byte>());
        ImageSaver.SavePng(x * 2.0 - 1.0, path, PixelRange.MinusOneToOne);
        Assert.Equal([0, 0, 128, 51, 255], ImageLoader.LoadUint8(path, minSide: 1).select(2, 1).flatten().ToArray<byte>());
    }

    [Fact]
    public void Errors()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Throws<ArgumentException>(() => ImageSaver.SavePng(torch.zeros(2, 3, 4, 4), dir.File("x.png"), PixelRange.ZeroToOne));
        Assert.Throws<ArgumentException>(() => ImageSaver.SavePng(torch.zeros(4, 4, 4), dir.File("x.png"), PixelRange.ZeroToOne));
        Assert.Throws<ArgumentException>(() => ImageSaver.SavePng(torch.zeros([3, 4, 4], ScalarType.Byte), dir.File("x.png"), PixelRange.ZeroToOne));
        var blocker = dir.Write("file", [1]);
        var target = Path.Combine(blocker, "x.png"); // a folder that is a file
        var e = Assert.Throws<IOException>(() => ImageSaver.SavePng(torch.zeros(3, 4, 4), target, PixelRange.ZeroToOne));
        Assert.Contains(target, e.Message);
    }
}
