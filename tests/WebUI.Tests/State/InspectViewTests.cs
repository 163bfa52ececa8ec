using TLoRA.Gateway.Api;
using TLoRA.WebUI.State;

namespace TLoRA.WebUI.Tests.State;

public sealed class InspectViewTests
{
    [Theory]
    [InlineData(new[] { 4.0, 3, 2, 1 }, 4)]        // 95 % of 10 needs all four
    [InlineData(new[] { 10.0, 0.1, 0.1, 0.1 }, 1)] // 10 of 10.3 ≥ 95 %
    [InlineData(new[] { 5.0, 5, 0, 0 }, 2)]
    [InlineData(new[] { 0.0, 0 }, 0)]
    public void Effective_rank_is_the_fewest_values_holding_95_percent_of_the_sum(double[] values, int expected) =>
        Assert.Equal(expected, InspectView.EffectiveRank(values));

    [Fact]
    public void The_headline_is_Bs_spectrum_whose_effective_rank_never_exceeds_r_even_when_deltas_does()
    {
        const int rank = 4;
        var layers = new[]
        {
            new LayerInspectionDto("down.0.to_q", "down", rank, [9, 8, 7, 6, 5, 4], [1, 0.9, 0.8, 0.7], 6, 1e-6, 2e-6),
            new LayerInspectionDto("up.0.to_k", "up", rank, [9, 1, 0.5, 0.1, 0.1, 0.1], [1, 0.01, 0.01, 0.01], 5, 1e-6, 2e-6),
        };
        var view = new InspectView(new InspectDto(
            new AdapterInfoDto("a", Methods.TLoRA, rank, 2, 1, "sdxl-tiny", "sks", "robot", 10, 0, 100),
            new InspectSummaryDto(2, 5.5, 1e-6, 2e-6, new Dictionary<string, double> { ["down"] = 6, ["up"] = 5 }), layers));
        Assert.All(view.UpSpectra, s => Assert.InRange(s.EffectiveRank, 0, rank));
        Assert.Equal([4, 1], view.UpSpectra.Select(s => s.EffectiveRank));
        Assert.Equal(2.5, view.MeanUpEffectiveRank);
        Assert.Equal(1.0, view.Up.Normalised[0]);
        Assert.Equal(1.0, view.Up.Cumulative[^1], 12);
        Assert.True(view.DeltaBlocks.Max(b => b.MeanEffectiveRank) > rank, "the ΔW view keeps ΔW's own effective rank");
    }
}
