using TLoRA.Gateway.Api;

namespace TLoRA.WebUI.State;

/// <summary>A spectrum summarised: σᵢ / σ₁ by index, the cumulative share of the singular-value sum, and the effective
/// rank (the fewest values holding <see cref="InspectView.Share"/> of the sum).</summary>
public sealed record Spectrum(IReadOnlyList<double> Normalised, IReadOnlyList<double> Cumulative, int EffectiveRank, int Rank);

public sealed record BlockRank(string Block, double MeanEffectiveRank, int Layers);

/// <summary>
/// The inspector's view of an adapter. The headline is the paper's Figure 4: singular values of each layer's B (up / P)
/// matrix and its effective rank at 95 % of the singular-value sum — at most the rank r, since B has r columns. ΔW's
/// effective rank per block comes second (for T-LoRA it can exceed r: ΔW = B·diag(σ)·A minus a frozen copy, not one
/// rank-r product).
/// </summary>
public sealed class InspectView
{
    public const double Share = 0.95;

    public InspectView(InspectDto inspection)
    {
        Inspection = inspection;
        UpSpectra = inspection.Layers.Select(l => Summarise(l.UpSingularValues, l.Rank)).ToArray();
        Up = Mean(UpSpectra, Adapter.Rank);
        DeltaBlocks = inspection.Layers.GroupBy(l => l.Block)
            .Select(g => new BlockRank(g.Key, g.Average(l => (double)l.EffectiveRank), g.Count())).ToArray();
    }

    public InspectDto Inspection { get; }
    public AdapterInfoDto Adapter => Inspection.Adapter;
    /// <summary>Each layer's B spectrum.</summary>
    public IReadOnlyList<Spectrum> UpSpectra { get; }
    /// <summary>The mean of the layers' normalised B spectra, with its own effective rank.</summary>
    public Spectrum Up { get; }
    public double MeanUpEffectiveRank => UpSpectra.Count == 0 ? 0 : UpSpectra.Average(s => s.EffectiveRank);
    public IReadOnlyList<BlockRank> DeltaBlocks { get; }

    /// <summary>The effective rank of a spectrum: the fewest leading values whose sum reaches <paramref name="share"/>
    /// of the total (0 for an all-zero spectrum).</summary>
    public static int EffectiveRank(IReadOnlyList<double> singularValues, double share = Share)
    {
        var sorted = singularValues.Where(v => double.IsFinite(v) && v > 0).OrderByDescending(v => v).ToArray();
        var total = sorted.Sum();
        if (total <= 0) return 0;
        double sum = 0;
        for (var i = 0; i < sorted.Length; i++)
        {
            sum += sorted[i];
            if (sum >= share * total - 1e-12 * total) return i + 1;
        }
        return sorted.Length;
    }

    public static Spectrum Summarise(IReadOnlyList<double> singularValues, int rank)
    {
        var sorted = singularValues.Select(v => double.IsFinite(v) ? Math.Max(0, v) : 0).OrderByDescending(v => v).ToArray();
        var top = sorted.Length > 0 ? sorted[0] : 0;
        var total = sorted.Sum();
        double running = 0;
        var cumulative = sorted.Select(v => total > 0 ? (running += v) / total : 0).ToArray();
        return new Spectrum(sorted.Select(v => top > 0 ? v / top : 0).ToArray(), cumulative, EffectiveRank(sorted), rank > 0 ? rank : sorted.Length);
    }

    private static Spectrum Mean(IReadOnlyList<Spectrum> spectra, int rank)
    {
        var n = spectra.Count == 0 ? 0 : spectra.Max(s => s.Normalised.Count);
        var mean = Enumerable.Range(0, n).Select(i => spectra.Where(s => i < s.Normalised.Count).Average(s => s.Normalised[i])).ToArray();
        return Summarise(mean, rank);
    }
}
