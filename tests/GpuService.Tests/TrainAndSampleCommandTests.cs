using TLoRA.Engine.IO;
using TLoRA.Engine.Tests;

namespace TLoRA.GpuService.Tests;

public class TrainAndSampleCommandTests
{
    private static string Concept => Path.Combine(FixturePaths.Root, "concept", "toy-robot.jpg");

    [Fact]
    public void Train_then_sample_with_the_adapter_writes_files_and_reports_progress()
    {
        using var dir = new TempDir();
        var (code, output) = DescribeCommandTests.Run("train", "--model", FixturePaths.SdxlTiny, "--image", Concept, "--class", "robot", "--rank", "4",
            "--steps", "3", "--checkpoint-every", "2", "--preview-steps", "2", "--prompt", "a {0} in the snow", "--output", dir.Path);
        Assert.True(code == 0, output);
        // the model's load, by its weights' size (read from the fixture's files)
        var mib = Engine.Pipelines.PipelineLoader.WeightBytes(FixturePaths.SdxlTiny) >> 20;
        Assert.Contains($"loaded sdxl-tiny: {mib} MiB of weights in ", output);
        var layers = FixtureFacts.AttentionLayers(Path.Combine(FixturePaths.SdxlTiny, "unet"));
        Assert.Contains($"TLoRA rank 4 (r_min 2, α 1) on {layers} attention layers", output);
        Assert.Contains("checkpoint at step 2", output);
        Assert.Contains("done: 3 steps", output);
        var adapter = Path.Combine(dir.Path, "adapter.safetensors");
        Assert.True(File.Exists(adapter));
        Assert.True(File.Exists(Path.Combine(dir.Path, "checkpoints", "step-000002", "preview-00-0.png")));

        (code, output) = DescribeCommandTests.Run("sample", "--model", FixturePaths.SdxlTiny, "--adapter", adapter, "--prompt", "a sks robot",
            "--prompt", "a red sks robot", "--steps", "2", "--count", "2", "--output", dir.File("samples"));
        Assert.True(code == 0, output);
        var files = Directory.GetFiles(dir.File("samples"), "*.png").Order().ToList();
        Assert.Equal(4, files.Count);
        var image = ImageLoader.LoadUint8(files[0]);
        var size = FixtureFacts.SdxlNativeResolution(FixturePaths.SdxlTiny); // sample's default: the native size
        Assert.Equal(new long[] { size, size, 3 }, image.shape);
    }

    [Fact]
    public void Train_with_gradient_checkpointing_completes()
    {
        using var dir = new TempDir();
        var (code, output) = DescribeCommandTests.Run("train", "--model", FixturePaths.SdxlTiny, "--image", Concept, "--rank", "2",
            "--steps", "2", "--checkpoint-every", "0", "--preview-steps", "1", "--gradient-checkpointing", "--output", dir.Path);
        Assert.True(code == 0, output);
        Assert.Contains("done: 2 steps", output);
        Assert.True(File.Exists(Path.Combine(dir.Path, "adapter.safetensors")));
    }

    [Theory]
    [InlineData("--image", "/no/such.png", "image '/no/such.png' does not exist")]
    [InlineData("--rank", "5000", "rank 5000 exceeds every adapted projection's dims")]
    [InlineData("--model", "/no/model", "model folder '/no/model' does not exist")]
    [InlineData("--resolution", "60", "Resolution must be a multiple of 8")]
    [InlineData("--min-rank", "9", "MinRank must be in 1..rank")]
    public void Bad_training_input_is_one_line_naming_the_problem(string option, string value, string message)
    {
        using var dir = new TempDir();
        var args = new List<string> { "train", "--image", Concept, "--rank", "4", "--steps", "2", "--output", dir.Path, "--model", FixturePaths.SdxlTiny };
        var i = args.IndexOf(option);
        if (i >= 0) args[i + 1] = value;
        else args.AddRange([option, value]);
        var (code, output) = DescribeCommandTests.Run([.. args]);
        Assert.Equal(1, code);
        Assert.Contains(message, output.ReplaceLineEndings(""));
        Assert.Contains("error:", output);
    }

    [Fact]
    public void An_unreadable_image_is_named()
    {
        using var dir = new TempDir();
        var bad = dir.Write("not-an-image.png", "hello"u8.ToArray());
        var (code, output) = DescribeCommandTests.Run("train", "--image", bad, "--rank", "4", "--steps", "1", "--output", dir.File("out"), "--model", FixturePaths.SdxlTiny);
        Assert.Equal(1, code);
        Assert.Contains("not-an-image.png", output.ReplaceLineEndings(""));
    }

    [Fact]
    public void A_model_missing_a_key_fails_naming_it()
    {
        using var dir = new TempDir();
        foreach (var f in Directory.GetFiles(FixturePaths.SdxlTiny, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(dir.Path, Path.GetRelativePath(FixturePaths.SdxlTiny, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
        var vae = Path.Combine(dir.Path, "vae", "diffusion_pytorch_model.safetensors");
        using (var file = SafetensorsFile.Open(vae))
        {
            var all = file.ReadAll();
            all.Remove("decoder.conv_out.bias", out var removed);
            removed!.Dispose();
            file.Dispose();
            SafetensorsWriter.Save(vae, all);
            foreach (var t in all.Values) t.Dispose();
        }
        var (code, output) = DescribeCommandTests.Run("sample", "--model", dir.Path, "--prompt", "x", "--steps", "1", "--output", dir.File("s"));
        Assert.Equal(1, code);
        Assert.Contains("missing keys (1): decoder.conv_out.bias", output.ReplaceLineEndings(""));
    }
}

public class FluxCommandTests
{
    [Fact]
    public void The_cli_trains_vanilla_tlora_on_flux_chosen_from_model_index()
    {
        using var dir = new TempDir();
        var (code, output) = DescribeCommandTests.Run("train", "--model", FixturePaths.FluxTiny, "--image",
            Path.Combine(FixturePaths.Root, "concept", "toy-robot.jpg"), "--method", "VanillaTLoRA", "--rank", "4", "--steps", "2",
            "--checkpoint-every", "0", "--prompt", "a {0}", "--preview-steps", "2", "--output", dir.Path);
        Assert.True(code == 0, output);
        Assert.Contains("VanillaTLoRA rank 4", output);
        (code, output) = DescribeCommandTests.Run("inspect", Path.Combine(dir.Path, "adapter.safetensors"));
        Assert.True(code == 0, output);
        Assert.Contains("VanillaTLoRA, rank 4", output);
        Assert.Contains("transformer_blocks.0", output);
    }
}
