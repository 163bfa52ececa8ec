using TLoRA.Engine;
using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.GpuService.Cli;

/// <summary>`tlora describe MODEL`: reads a diffusers pipeline folder, loads every weight into libtorch and reports
/// what it holds (components, tensors, parameters, dtypes, load speed, and that every value is finite).</summary>
internal static class DescribeCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var model = new Argument<DirectoryInfo>("model") { Description = "a diffusers pipeline folder (with model_index.json)" };
        var command = new Command("describe", "load a pipeline folder's weights and report what it holds") { model };
        command.SetAction(parse => Run(console, parse.GetValue(model)!.FullName));
        return command;
    }

    internal static int Run(IAnsiConsole console, string folder)
    {
        var index = ModelIndex.Load(folder);
        console.MarkupLine($"[bold]{Markup.Escape(index.ClassName)}[/] at {Markup.Escape(folder)} (diffusers {Markup.Escape(index.DiffusersVersion ?? "?")})");
        console.MarkupLine($"libtorch {TorchRuntime.LibTorchVersion} ({TorchRuntime.Backend} build), {torch.get_num_threads()} thread(s), CUDA {(torch.cuda.is_available() ? "available" : "not available")}");

        var reports = new List<ComponentReport>();
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                foreach (var c in index.Components)
                {
                    var dir = Path.Combine(folder, c.Name);
                    if (!ComponentWeights.Exist(dir)) { reports.Add(ComponentReport.WithoutWeights(c, dir)); continue; }
                    using var checkpoint = ShardedCheckpoint.OpenComponent(dir);
                    var task = ctx.AddTask($"loading {c.Name}", maxValue: checkpoint.Count);
                    reports.Add(ComponentReport.Load(c, checkpoint, () => task.Increment(1)));
                }
            });

        var table = new Table().AddColumns("component", "class", "tensors", "parameters", "dtypes", "MiB", "load", "all finite");
        foreach (var r in reports)
            table.AddRow(r.Component.Name, r.Component.ClassName, r.Tensors.ToString("N0"), r.Parameters.ToString("N0"),
                string.Join(" ", r.Dtypes), (r.Bytes / 1048576.0).ToString("F1"), r.Seconds is { } s ? $"{s * 1000:F0} ms" : "-",
                r.Tensors == 0 ? "-" : r.AllFinite ? "[green]yes[/]" : "[red]no[/]");
        console.Write(table);
        var total = reports.Sum(r => r.Parameters);
        var seconds = reports.Sum(r => r.Seconds ?? 0);
        var bytes = reports.Sum(r => r.Bytes);
        console.MarkupLine($"{total:N0} parameters in {reports.Sum(r => r.Tensors):N0} tensors; loaded {bytes / 1048576.0:F1} MiB in {seconds:F2} s ({(seconds > 0 ? bytes / 1048576.0 / seconds : 0):F0} MiB/s)");
        return reports.All(r => r.AllFinite) ? 0 : 2;
    }
}

/// <summary>What one component holds, measured by loading it.</summary>
internal sealed record ComponentReport(PipelineComponent Component, int Tensors, long Parameters, long Bytes,
    IReadOnlyList<string> Dtypes, double? Seconds, bool AllFinite)
{
    public static ComponentReport WithoutWeights(PipelineComponent c, string dir) => new(c, 0, 0, 0, [], null, true);

    public static ComponentReport Load(PipelineComponent c, ShardedCheckpoint checkpoint, Action onTensor)
    {
        var sw = Stopwatch.StartNew();
        long parameters = 0, bytes = 0;
        var finite = true;
        var dtypes = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in checkpoint.Names)
        {
            using var scope = torch.NewDisposeScope();
            var entry = checkpoint.Entry(name);
            var t = checkpoint.Read(name);
            parameters += t.numel();
            bytes += entry.ByteLength;
            dtypes.Add(entry.DtypeName);
            if (t.is_floating_point() && t.numel() > 0) finite &= t.isfinite().logical_not().sum().ItemInt64() == 0;
            onTensor();
        }
        return new(c, checkpoint.Count, parameters, bytes, dtypes.ToList(), sw.Elapsed.TotalSeconds, finite);
    }
}

/// <summary>Whether a component folder holds weights (models do; tokenizers and schedulers do not).</summary>
internal static class ComponentWeights
{
    public static bool Exist(string dir) =>
        Directory.EnumerateFiles(dir, "*.safetensors").Any() || Directory.EnumerateFiles(dir, "*.safetensors.index.json").Any();
}
