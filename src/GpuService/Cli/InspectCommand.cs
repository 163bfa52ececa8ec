using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using TLoRA.Engine.Adapters;
using TLoRA.Engine.IO;

namespace TLoRA.GpuService.Cli;

/// <summary>`tlora inspect ADAPTER`: the adapter's spec and metadata, effective rank (95%) and orthogonality per block
/// and, with --layers, per layer; --json prints the whole inspection as JSON.</summary>
internal static class InspectCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var adapter = new Argument<FileInfo>("adapter") { Description = "an adapter .safetensors file (ours or an official T-LoRA checkpoint)" };
        var layers = new Option<bool>("--layers") { Description = "also list every adapted layer" };
        var json = new Option<bool>("--json") { Description = "print the inspection as JSON" };
        var command = new Command("inspect", "singular values, effective rank and orthogonality of an adapter's deltas") { adapter, layers, json };
        command.SetAction(parse => Run(console, parse.GetValue(adapter)!.FullName, parse.GetValue(layers), parse.GetValue(json)));
        return command;
    }

    internal static int Run(IAnsiConsole console, string path, bool listLayers, bool json)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"adapter file '{path}' does not exist", path);
        AdapterSpec spec;
        AdapterMetadata meta;
        using (var file = ShardedCheckpoint.Open(path))
        {
            spec = AdapterFile.ReadSpec(file);
            meta = AdapterMetadata.From(file.Metadata);
        }
        var processors = AdapterFile.ReadProcessors(path);
        IReadOnlyList<LayerInspection> inspections;
        try
        {
            inspections = AdapterInspector.Inspect(processors);
        }
        finally
        {
            foreach (var (_, p) in processors) p.Dispose();
        }
        var summary = AdapterInspector.Summarise(inspections);
        if (json)
        {
            console.Profile.Width = int.MaxValue / 2;
            console.WriteLine(JsonSerializer.Serialize(new { spec = spec.ToString(), metadata = meta, summary, layers = inspections },
                new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        console.MarkupLine($"[bold]{Markup.Escape(Path.GetFileName(path))}[/]: {spec.Method}, rank {spec.Rank}, r_min {spec.MinRank}, α {spec.Alpha}, " +
                           $"{summary.Layers} adapted projections");
        if (meta.BaseModel is not null || meta.Steps is not null)
            console.MarkupLine(Markup.Escape($"base model {meta.BaseModel ?? "?"}, trigger '{meta.Trigger}' {meta.ClassWord}, {meta.Steps} steps, seed {meta.Seed}"));
        var blocks = new Table().AddColumns("block", "mean effective rank (95%)");
        foreach (var (block, rank) in summary.MeanEffectiveRankByBlock) blocks.AddRow(block, rank.ToString("F2"));
        console.Write(blocks);
        console.MarkupLine($"mean effective rank {summary.MeanEffectiveRank:F2}; ‖QQᵀ−I‖_F {summary.MeanQOrthogonalityError:E2}; ‖PᵀP−I‖_F {summary.MeanPOrthogonalityError:E2}");
        if (listLayers)
        {
            var table = new Table().AddColumns("layer", "rank", "eff. rank", "σ(ΔW) leading", "‖QQᵀ−I‖", "‖PᵀP−I‖");
            foreach (var l in inspections)
                table.AddRow(l.Layer, l.Rank.ToString(), l.EffectiveRank.ToString(), string.Join(" ", l.DeltaSingularValues.Take(4).Select(v => v.ToString("G3"))),
                    l.QOrthogonalityError.ToString("E1"), l.POrthogonalityError.ToString("E1"));
            console.Write(table);
        }
        return 0;
    }
}
