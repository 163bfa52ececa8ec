using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests;

public sealed class WriterTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private string[] TempFiles() => Directory.GetFiles(dir.Path, "*.tmp").Concat(Directory.GetFiles(dir.Path, ".*")).ToArray();

    [Fact]
    public void Failed_save_leaves_the_existing_file_intact()
    {
        using var scope = torch.NewDisposeScope();
        var path = dir.File("keep.safetensors");
        SafetensorsWriter.Save(path, new Dictionary<string, Tensor> { ["x"] = torch.tensor(new[] { 1f, 2f, 3f }) });
        var before = File.ReadAllBytes(path);

        var disposed = torch.ones(1000);
        disposed.Dispose();
        var tensors = new Dictionary<string, Tensor> { ["a"] = torch.zeros(1000), ["z"] = disposed };
        Assert.Throws<ObjectDisposedException>(() => SafetensorsWriter.Save(path, tensors));

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Empty(TempFiles());
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(new[] { 1f, 2f, 3f }, file.Read("x").ToArray<float>());
    }

    [Fact]
    public void Failure_after_writing_data_removes_the_temporary_file()
    {
        using var scope = torch.NewDisposeScope();
        var target = dir.File("occupied");
        Directory.CreateDirectory(target); // the final move onto a folder fails after all data is written
        Assert.ThrowsAny<IOException>(() =>
            SafetensorsWriter.Save(target, new Dictionary<string, Tensor> { ["x"] = torch.ones(16) }));
        Assert.True(Directory.Exists(target));
        Assert.Empty(TempFiles());
    }

    [Fact]
    public void Save_replaces_an_existing_file()
    {
        using var scope = torch.NewDisposeScope();
        var path = dir.File("replace.safetensors");
        SafetensorsWriter.Save(path, new Dictionary<string, Tensor> { ["old"] = torch.ones(100) });
        SafetensorsWriter.Save(path, new Dictionary<string, Tensor> { ["new"] = torch.full([2], 5) });
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["new"], file.Names);
        Assert.Equal(new[] { 5f, 5f }, file.Read("new").ToArray<float>());
        Assert.Empty(TempFiles());
    }

    [Fact]
    public void Save_creates_the_folder()
    {
        using var scope = torch.NewDisposeScope();
        var path = Path.Combine(dir.Path, "a", "b", "c.safetensors");
        SafetensorsWriter.Save(path, new Dictionary<string, Tensor> { ["x"] = torch.ones(1) });
        Assert.True(File.Exists(path));
    }

    [Theory]
    [InlineData("")]
    [InlineData("__metadata__")]
    public void Reserved_or_empty_names_are_rejected(string name)
    {
        using var scope = torch.NewDisposeScope();
        var path = dir.File("names.safetensors");
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Save(path, new Dictionary<string, Tensor> { [name] = torch.ones(1) }));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Saving_leaves_no_extra_tensors_alive()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.arange(24, ScalarType.Float32).reshape(2, 3, 4).permute(2, 0, 1);
        var before = LiveTensors.Count;
        SafetensorsWriter.Save(dir.File("live.safetensors"), new Dictionary<string, Tensor> { ["t"] = t });
        Assert.Equal(before, LiveTensors.Count);
    }
}
