using TLoRA.Engine.IO;
using TLoRA.Engine.Pipelines;

namespace TLoRA.Engine.Tests.Pipelines;

/// <summary>Loading a model reports the bytes read of all its weights: a service shows it while a job waits for a
/// model of tens of GB.</summary>
public sealed class PipelineLoadProgressTests
{
    public static TheoryData<string> Models() => ["sdxl-tiny", "flux-tiny"];

    [Theory]
    [MemberData(nameof(Models))]
    public void Loading_reports_every_weight_byte_from_zero_to_the_whole_in_order(string model)
    {
        var folder = Path.Combine(FixturePaths.Root, model);
        // every tensor of every safetensors file of the model's component folders, read from the files themselves
        long expected = 0;
        var tensors = 0;
        foreach (var file in Directory.EnumerateDirectories(folder).SelectMany(d => Directory.EnumerateFiles(d, "*.safetensors")))
        {
            using var f = SafetensorsFile.Open(file);
            expected += f.Names.Sum(n => f.Entry(n).ByteLength);
            tensors += f.Names.Count;
        }
        Assert.Equal(expected, PipelineLoader.WeightBytes(folder));

        var reports = new List<LoadProgress>();
        var baseline = LiveTensors.Count;
        using (PipelineLoader.Load(folder, progress: new SyncProgress<LoadProgress>(reports.Add))) { }
        Assert.Equal(baseline, LiveTensors.Count);
        Assert.All(reports, r => Assert.Equal(expected, r.TotalBytes));
        Assert.Equal(0, reports[0].DoneBytes);
        Assert.Equal(expected, reports[^1].DoneBytes);
        Assert.Equal(tensors + 1, reports.Count); // the start, then one per tensor (the last reaches the whole)
        Assert.True(reports.Zip(reports.Skip(1)).All(p => p.First.DoneBytes <= p.Second.DoneBytes));

        // without a listener nothing is measured, and a later load on this thread reports nothing to the earlier one
        using (PipelineLoader.Load(folder)) { }
        Assert.Equal(tensors + 1, reports.Count);
    }
}
