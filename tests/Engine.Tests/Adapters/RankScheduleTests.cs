using System.Text.Json;
using TLoRA.Engine.Adapters;
using TorchSharp;
using static TorchSharp.torch;

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
    public void Linear_schedule_matches_the_official_flux_code_on_the_fixture_cases()
    {
        using var scope = torch.NewDisposeScope();
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixturePaths.FluxTiny, "reference_cases.json")));
        var root = doc.RootElement;
        var c = root.GetProperty("tlora");
        var s = new RankSchedule(c.GetProperty("rank").GetInt32(), c.GetProperty("min_rank").GetInt32(), T: c.GetProperty("max_timestep").GetDouble(),
            Kind: RankScheduleKind.Linear).Validate();
        foreach (var pair in c.GetProperty("rank_schedule").EnumerateArray())
        {
            var t = pair[0].GetSingle();
            Assert.True(pair[1].GetInt32() == s.RankAt(t), $"r({t}) = {s.RankAt(t)}, reference {pair[1]}");
        }
        var sampling = root.GetProperty("sample_tlora");
        var timesteps = sampling.GetProperty("timesteps").EnumerateArray().Select(e => (double)e.GetSingle()).ToList();
        Assert.Equal(sampling.GetProperty("ranks").EnumerateArray().Select(e => e.GetInt32()), timesteps.Select(s.RankAt));
        // the ranks the pipeline recorded, at the pipeline's own timesteps
        var recorded = FluxReferenceOutputs.Read("sample_tlora.ranks").ToArray<long>();
        Assert.Equal(recorded, FluxReferenceOutputs.Read("sample.timesteps").ToArray<float>().Select(t => (long)s.RankAt(t)));
        var train = root.GetProperty("train");
        Assert.Equal(train.GetProperty("rank").GetInt32(), s.RankAt(train.GetProperty("timestep").GetSingle()));
    }

    [Fact]
    public void Linear_schedule_rounds_like_torch_float32()
    {
        var s = new RankSchedule(4, 2, Kind: RankScheduleKind.Linear);
        // 1000f − 1e-5f rounds to 1000f: full rank, where float64 arithmetic (1.99999998 → 1) would give 3
        Assert.Equal(4, s.RankAt(1e-5f));
        Assert.Equal(3, (int)((1000.0 - 1e-5f) * 2 / 1000.0) + 2);
        Assert.Equal(2, s.RankAt(1000));
        Assert.Equal(2, s.RankAt(2000));
        Assert.Equal(4, s.RankAt(-1));
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
