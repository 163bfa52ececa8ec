using System.Text.Json;
using TLoRA.Engine.Adapters;
using TLoRA.Torch;

namespace TLoRA.Engine.Tests.Adapters;

public class RankScheduleTests
{
    [Fact]
    public void Power_schedule_matches_the_official_code_on_the_fixture_cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixturePaths.SdxlTiny, "reference_cases.json")));
        var c = doc.RootElement.GetProperty("tlora");
        var s = new RankSchedule(c.GetProperty("rank").GetInt32(), c.GetProperty("min_rank").GetInt32(), c.GetProperty("alpha").GetDouble(),
            c.GetProperty("T").GetDouble()).Validate();
        foreach (var p in c.GetProperty("rank_schedule").EnumerateObject())
            Assert.True(p.Value.GetInt32() == s.RankAt(double.Parse(p.Name)), $"r({p.Name}) = {s.RankAt(double.Parse(p.Name))}, reference {p.Value}");
    }

    [Fact]
    public void Alpha_bends_the_schedule_and_the_flux_kind_is_linear_in_sigma()
    {
        var s = new RankSchedule(64, 32, 2.0);
        // ((1000 − 500)/1000)² · 32 = 8 → 40
        Assert.Equal(40, s.RankAt(500));
        Assert.Equal(64, s.RankAt(0));
        Assert.Equal(32, s.RankAt(1000));
        var f = new RankSchedule(16, 4, Kind: RankScheduleKind.Linear);
        // int((1000 − 750.5)·12/1000) + 4 = int(2.994) + 4 = 6
        Assert.Equal(6, f.RankAt(750.5));
        Assert.Equal(16, f.RankAt(0));
    }

    [Fact]
    public void Mask_has_ones_in_the_first_r_columns_per_timestep()
    {
        using var scope = torch.NewDisposeScope();
        var s = new RankSchedule(4, 2);
        var m = s.Mask([0, 700, 999]);
        Assert.Equal(new long[] { 3, 4 }, m.shape);
        Assert.Equal(new float[] { 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0 }, m.ToArray<float>());
    }

    [Theory]
    [InlineData(0, 1, 1.0)]
    [InlineData(4, 5, 1.0)]
    [InlineData(4, 0, 1.0)]
    [InlineData(4, 2, 0.0)]
    public void Bad_values_name_the_field(int rank, int minRank, double alpha)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new RankSchedule(rank, minRank, alpha).Validate());
        Assert.Contains(rank <= 0 ? "Rank" : minRank <= 0 || minRank > rank ? "MinRank" : "Alpha", ex.ParamName);
    }
}
