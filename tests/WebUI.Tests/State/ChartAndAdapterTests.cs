using TLoRA.Gateway.Api;
using TLoRA.WebUI.State;

namespace TLoRA.WebUI.Tests.State;

public sealed class ChartAndAdapterTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(12)]
    public void Step_axes_have_whole_number_ticks_only(int steps)
    {
        var ticks = ChartScale.Ticks(0, steps, 5, integers: true);
        Assert.All(ticks, t => Assert.Equal(Math.Round(t), t));
        Assert.Equal(ticks.Distinct(), ticks);
        Assert.InRange(ticks[^1], 0, steps);
    }

    [Fact]
    public void A_full_chunks_path_does_not_change_when_points_are_appended()
    {
        var series = new ChartSeries("loss", "#000", false, p => p.Loss);
        var points = Enumerable.Range(1, ChartScale.ChunkSize * 2).Select(i => new StepPoint(i, 1.0 / i, 1.0 / i, 500, 2)).ToList();
        var before = ChartScale.Path(points, 0, ChartScale.ChunkSize, series);
        points.Add(new StepPoint(points.Count + 1, 9, 9, 1, 1));
        Assert.Equal(before, ChartScale.Path(points, 0, ChartScale.ChunkSize, series));
        // the next chunk starts at the last point of the one before, so the line is joined
        Assert.StartsWith($"M{ChartScale.ChunkSize} ", ChartScale.Path(points, ChartScale.ChunkSize, points.Count, series), StringComparison.Ordinal);
    }

    [Fact]
    public void Only_adapters_of_the_models_family_are_offered()
    {
        var models = new[]
        {
            new ModelDto("sdxl-tiny", "StableDiffusionXLPipeline", 64, true, [], 16),
            new ModelDto("sdxl-other", "StableDiffusionXLPipeline", 64, true, [], 16),
            new ModelDto("flux-tiny", "FluxPipeline", 64, true, [], 16),
        };
        JobDto Job(string id, string model) => new(id, "train", JobStates.Completed, 0, null, null, null, 9, 10, 10, model, id + "-final", null, "sks",
            "dog", Methods.TLoRA, "gpu");
        var adapters = Adapters.From([Job("a", "sdxl-tiny"), Job("b", "flux-tiny"), Job("c", "sdxl-other")]);
        Assert.Equal(["a-final", "c-final"], Adapters.CompatibleWith(adapters, models, "sdxl-tiny").Select(a => a.AdapterId));
        Assert.Equal(["b-final"], Adapters.CompatibleWith(adapters, models, "flux-tiny").Select(a => a.AdapterId));
    }
}
