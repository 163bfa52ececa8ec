using TLoRA.Engine;
using System.CommandLine;
using Spectre.Console;
using TLoRA.Engine.IO;
using TLoRA.Engine.Pipelines;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.GpuService.Cli;

/// <summary>Options shared by the verbs that load a model.</summary>
internal sealed class CommonOptions
{
    public readonly Option<DirectoryInfo> Model = new("--model")
    {
        Description = "a diffusers pipeline folder (SD-XL)",
        DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("tests", "fixtures", "sdxl-tiny")),
    };

    public readonly Option<string> Device = new("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };

    public readonly Option<string> Dtype = new("--dtype")
    {
        Description = "frozen weights' dtype: float32, bfloat16 or float16 (adapters always train in float32)",
        DefaultValueFactory = _ => "float32",
    };

    /// <summary>Loads the pipeline these options name, with a progress bar of its weights' bytes (tens of GB for
    /// FLUX: minutes from a slow disk).</summary>
    public IDiffusionPipeline LoadPipeline(ParseResult p, IAnsiConsole console)
    {
        var folder = p.GetValue(Model)!.FullName;
        var dtype = ParseDtype(p.GetValue(Dtype)!);
        var device = ParseDevice(p.GetValue(Device)!);
        IDiffusionPipeline? pipeline = null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var bytes = 0L;
        console.Progress()
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape($"loading {Path.GetFileName(folder)}"), maxValue: 1);
                pipeline = PipelineLoader.Load(folder, dtype, device, new CallerProgress<LoadProgress>(l =>
                {
                    task.MaxValue = Math.Max(1, l.TotalBytes);
                    task.Value = l.DoneBytes;
                    task.Description = Markup.Escape($"loading {Path.GetFileName(folder)}: {l.DoneBytes >> 20} / {l.TotalBytes >> 20} MiB");
                    bytes = l.TotalBytes;
                }));
            });
        // the bar is gone from logs and pipes: say once what was loaded
        console.MarkupLine(Markup.Escape($"loaded {Path.GetFileName(folder)}: {bytes >> 20} MiB of weights in {clock.Elapsed.TotalSeconds:F1} s"));
        return pipeline!;
    }

    public void AddTo(Command c)
    {
        c.Options.Add(Model);
        c.Options.Add(Device);
        c.Options.Add(Dtype);
    }

    public static ScalarType ParseDtype(string text) => text.ToLowerInvariant() switch
    {
        "float32" or "fp32" => ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        "float16" or "fp16" => ScalarType.Float16,
        _ => throw new ArgumentException($"--dtype must be float32, bfloat16 or float16, not '{text}'"),
    };

    public static Device ParseDevice(string text)
    {
        try
        {
            return TorchRuntime.ParseDevice(text);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new ArgumentException($"--device {text}: {e.Message}", e);
        }
    }
}
