namespace TLoRA.Engine.Adapters;

/// <summary>What adapter to build: method, ranks, schedule and which projections carry it.</summary>
public sealed record AdapterSpec(
    AdapterMethod Method,
    int Rank,
    int MinRank,
    double Alpha = 1.0,
    InitComponents Init = InitComponents.Last,
    RankScheduleKind Schedule = RankScheduleKind.Power,
    IReadOnlyList<string>? Projections = null)
{
    /// <summary>SD-XL's adapted projections: every attention's to_q, to_k, to_v and to_out.0.</summary>
    public static readonly IReadOnlyList<string> AttentionProjections = ["to_q", "to_k", "to_v", "to_out"];

    public IReadOnlyList<string> TargetProjections => Projections ?? AttentionProjections;

    /// <summary>Equal when every field is, projections compared element by element.</summary>
    public bool Equals(AdapterSpec? other) =>
        other is not null && Method == other.Method && Rank == other.Rank && MinRank == other.MinRank && Alpha.Equals(other.Alpha)
        && Init == other.Init && Schedule == other.Schedule && TargetProjections.SequenceEqual(other.TargetProjections);

    public override int GetHashCode() => HashCode.Combine(Method, Rank, MinRank, Alpha, Init, Schedule, string.Join(",", TargetProjections));

    public RankSchedule RankSchedule(double timesteps = 1000) => new RankSchedule(Rank, MinRank, Alpha, timesteps, Schedule).Validate();
}
