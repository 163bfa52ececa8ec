using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Adapters;

/// <summary>
/// The T-LoRA rank schedule: how many leading rank components are active at timestep t (fewer at high noise), and
/// the 0/1 mask [batch, rank] that selects them.
/// </summary>
public sealed record RankSchedule(int Rank, int MinRank, double Alpha = 1.0, double T = 1000, RankScheduleKind Kind = RankScheduleKind.Power)
{
    /// <summary>Checks the values a user gives; the message names the field.</summary>
    public RankSchedule Validate()
    {
        if (Rank <= 0) throw new ArgumentOutOfRangeException(nameof(Rank), Rank, "rank must be positive");
        if (MinRank <= 0 || MinRank > Rank) throw new ArgumentOutOfRangeException(nameof(MinRank), MinRank, $"min_rank must be in 1..rank ({Rank})");
        if (!(Alpha > 0)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "alpha must be positive");
        if (!(T > 0)) throw new ArgumentOutOfRangeException(nameof(T), T, "T must be positive");
        return this;
    }

    /// <summary>Active rank at timestep t (t in [0, T]; clamped outside).</summary>
    public int RankAt(double t)
    {
        var tc = Math.Clamp(t, 0, T);
        var span = Rank - MinRank;
        var r = Kind switch
        {
            // the official code computes in Python floats (float64) and truncates with int()
            RankScheduleKind.Power => (int)Math.Floor(Math.Pow((T - tc) / T, Alpha) * span) + MinRank,
            RankScheduleKind.Linear => LinearFloat32((float)tc, span) + MinRank,
            _ => throw new ArgumentOutOfRangeException(nameof(Kind)),
        };
        return Math.Clamp(r, MinRank, Rank);
    }

    // The official FLUX code: int((max_timestep − t)·(rank − min_rank)/max_timestep) with t a float32 tensor, so each
    // operation rounds to float32 (the Python ints are cast to it) and int() truncates. max_timestep = T (1000).
    private int LinearFloat32(float t, int span)
    {
        var max = (float)T;
        var diff = max - t;
        var product = diff * span;
        var quotient = product / max;
        return (int)quotient;
    }

    /// <summary>The mask [timesteps.Length, Rank]: ones in the first r(t) columns of each row.</summary>
    public Tensor Mask(IReadOnlyList<double> timesteps, Device? device = null)
    {
        var data = new float[timesteps.Count * Rank];
        for (var b = 0; b < timesteps.Count; b++)
        {
            var r = RankAt(timesteps[b]);
            for (var i = 0; i < r; i++) data[b * Rank + i] = 1f;
        }
        using var cpu = torch.tensor(data, timesteps.Count, Rank);
        return device is { } d && d != torch.CPU ? cpu.to(d) : cpu.clone();
    }
}
