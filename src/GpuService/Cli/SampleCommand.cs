using System.CommandLine;
using Spectre.Console;
using TLoRA.Engine.Adapters;
using TLoRA.Engine.IO;
using TLoRA.Engine.Pipelines;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.GpuService.Cli;

/// <summary>`tlora sample`: images from prompts, with or without an adapter, as PNG files.</summary>
internal static class SampleCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var common = new CommonOptions();
        var adapter = new Option<FileInfo?>("--adapter") { Description = "an adapter file (ours or an official T-LoRA checkpoint)" };
        var prompts = new Option<string[]>("--prompt") { Description = "repeatable", Required = true };
        var negative = new Option<string?>("--negative") { Description = "negative prompt (none: SD-XL's zero embedding)" };
        var guidance = new Option<double>("--guidance") { DefaultValueFactory = _ => 5.0 };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 25 };
        var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => 0UL };
        var width = new Option<int?>("--width");
        var height = new Option<int?>("--height");
        var count = new Option<int>("--count") { Description = "images per prompt", DefaultValueFactory = _ => 1 };
        var scale = new Option<double>("--scale") { Description = "adapter scale", DefaultValueFactory = _ => 1.0 };
        var minRank = new Option<int?>("--min-rank") { Description = "r_min for official checkpoints without metadata (default rank/2)" };
        var output = new Option<DirectoryInfo>("--output") { DefaultValueFactory = _ => new DirectoryInfo("samples") };
        var command = new Command("sample", "generate images, optionally with an adapter")
        {
            adapter, prompts, negative, guidance, steps, seed, width, height, count, scale, minRank, output,
        };
        common.AddTo(command);
        command.SetAction(p =>
        {
            using var pipeline = common.LoadPipeline(p, console);
            var size = PipelineLoader.DefaultResolution(pipeline);
            var options = new SampleOptions(p.GetValue(prompts)!, p.GetValue(negative), p.GetValue(guidance), p.GetValue(steps), p.GetValue(seed),
                p.GetValue(width) ?? size, p.GetValue(height) ?? size, p.GetValue(count), p.GetValue(scale));
            return Run(console, pipeline, options, p.GetValue(adapter)?.FullName, p.GetValue(minRank), p.GetValue(output)!.FullName);
        });
        return command;
    }

    internal static int Run(IAnsiConsole console, IDiffusionPipeline pipeline, SampleOptions options, string? adapterPath, int? minRank, string output)
    {
        if (adapterPath is not null && !File.Exists(adapterPath)) throw new FileNotFoundException($"adapter file '{adapterPath}' does not exist", adapterPath);
        using var network = adapterPath is null ? null : AdapterFile.Load(pipeline.Denoiser, adapterPath, pipeline.Device, minRank);
        Tensor? images = null;
        console.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn()).Start(ctx =>
        {
            var total = options.Prompts.Count * options.Steps;
            var task = ctx.AddTask("sampling", maxValue: total);
            images = pipeline.Sample(options, network, new CallerProgress<SampleProgress>(p =>
            {
                task.Value = p.Image / Math.Max(1, options.ImagesPerPrompt) * options.Steps + p.Step;
                task.Description = $"image {p.Image / options.ImagesPerPrompt + 1}/{options.Prompts.Count} step {p.Step}/{p.Steps}";
            }), default);
        });
        using (images)
        {
            Directory.CreateDirectory(output);
            for (var i = 0; i < images!.size(0); i++)
            {
                var path = Path.Combine(output, $"sample-{i / options.ImagesPerPrompt:D2}-{i % options.ImagesPerPrompt}.png");
                using var one = images.select(0, i);
                ImageSaver.SavePng(one, path, PixelRange.ZeroToOne);
                console.MarkupLine(Markup.Escape($"{path}: {options.Prompts[i / options.ImagesPerPrompt]}"));
            }
        }
        return 0;
    }
}
