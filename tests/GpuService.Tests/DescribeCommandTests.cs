using Spectre.Console;
using TLoRA.Engine.IO;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Cli;

namespace TLoRA.GpuService.Tests;

public class DescribeCommandTests
{
    internal static (int Code, string Output) Run(params string[] args)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 200;
        var code = CliApp.Run(args, console);
        return (code, writer.ToString());
    }

    [Fact]
    public void Describes_every_component_with_counts_read_from_the_files()
    {
        var (code, output) = Run("describe", FixturePaths.SdxlTiny);
        Assert.Equal(0, code);
        var index = ModelIndex.Load(FixturePaths.SdxlTiny);
        Assert.Contains(index.ClassName, output);
        long total = 0;
        foreach (var c in index.Components)
        {
            Assert.Contains(c.Name, output);
            Assert.Contains(c.ClassName, output);
            var dir = Path.Combine(FixturePaths.SdxlTiny, c.Name);
            if (!Directory.EnumerateFiles(dir, "*.safetensors").Any()) continue;
            using var ckpt = ShardedCheckpoint.OpenComponent(dir);
            var count = ckpt.Names.Sum(n => ckpt.Entry(n).ElementCount);
            total += count;
            Assert.Contains($"{count:N0}", output);
        }
        Assert.Contains($"{total:N0} parameters", output);
        Assert.DoesNotContain(" no ", output.Replace("not available", "", StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_folder_is_one_line_naming_it()
    {
        var (code, output) = Run("describe", "/no/such/model");
        Assert.Equal(1, code);
        Assert.Equal("error: model folder '/no/such/model' does not exist", output.Trim());
    }

    [Fact]
    public void A_folder_without_model_index_is_named()
    {
        using var dir = new TempDir();
        var (code, output) = Run("describe", dir.Path);
        Assert.Equal(1, code);
        Assert.Contains("is not a diffusers pipeline folder: it has no model_index.json", output);
    }

    [Fact]
    public void A_truncated_weights_file_names_the_file()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("model_index.json"), """{"_class_name": "StableDiffusionXLPipeline", "vae": ["diffusers", "AutoencoderKL"]}""");
        Directory.CreateDirectory(dir.File("vae"));
        var source = File.ReadAllBytes(Path.Combine(FixturePaths.SdxlTiny, "vae", "diffusion_pytorch_model.safetensors"));
        File.WriteAllBytes(dir.File("vae/diffusion_pytorch_model.safetensors"), source[..(source.Length / 2)]);
        var (code, output) = Run("describe", dir.Path);
        Assert.Equal(1, code);
        var error = output[output.IndexOf("error: ", StringComparison.Ordinal)..].ReplaceLineEndings("");
        Assert.Contains("vae/diffusion_pytorch_model.safetensors", error);
        Assert.Contains("truncated", error);
    }

    [Fact]
    public void A_component_named_in_the_index_but_absent_is_listed()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("model_index.json"),
            """{"_class_name": "FluxPipeline", "transformer": ["diffusers", "FluxTransformer2DModel"], "vae": ["diffusers", "AutoencoderKL"]}""");
        var (code, output) = Run("describe", dir.Path);
        Assert.Equal(1, code);
        Assert.Contains("lacks the component folder(s) transformer, vae", output);
    }
}
