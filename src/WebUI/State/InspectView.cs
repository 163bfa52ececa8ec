using TLoRA.Contracts.V1;

namespace TLoRA.WebUI.State;

public sealed record BlockRank(string Block, double MeanEffectiveRank, int Layers);

public sealed record SpectrumPoint(int Index, double Value);

public sealed record LayerSpectrum(string Layer, int Rank, int EffectiveRank, IReadOnlyList<SpectrumPoint> Normalised);

/// <summary>A block's layers for the spectra chart, with the mean spectrum over them.</summary>
public sealed record BlockSpectra(string Block, IReadOnlyList<LayerSpectrum> Layers, IReadOnlyList<SpectrumPoint> Mean);

/// <summary>
/// Chart data from an InspectAdapter reply: the effective rank (95% of the spectrum's energy) per block, and the
/// singular-value spectra of ΔW per layer normalised by the largest value, grouped by block, so adapters of
/// different scales (T-LoRA next to LoRA) compare on one axis.
/// </summary>
public sealed class InspectView
{
    public InspectView(InspectReply reply)
    {
        Reply = reply;
        Blocks = reply.Layers.GroupBy(l => l.Block)
            .Select(g => new BlockRank(g.Key, g.Average(l => (double)l.EffectiveRank), g.Count()))
            .ToArray();
        Spectra = reply.Layers.GroupBy(l => l.Block).Select(g =>
        {
            var layers = g.Select(l => new LayerSpectrum(l.Layer, l.Rank, l.EffectiveRank, Normalise(l.DeltaSingularValues))).ToArray();
            return new BlockSpectra(g.Key, layers, MeanOf(layers));
        }).ToArray();
    }

    public InspectReply Reply { get; }

    public AdapterInfo Adapter => Reply.Adapter ?? new AdapterInfo();

    public IReadOnlyList<BlockRank> Blocks { get; }

    public IReadOnlyList<BlockSpectra> Spectra { get; }

    public bool HasOrthogonality => Reply.Layers.Any(l => l.QOrthogonalityError > 0 || l.POrthogonalityError > 0)
        || Adapter.Method == AdapterMethod.Tlora;

    /// <summary>σᵢ / σ₁ (all zeros stay zeros: an untrained LoRA has ΔW = 0).</summary>
    public static IReadOnlyList<SpectrumPoint> Normalise(IReadOnlyList<double> singularValues)
    {
        var top = singularValues.Count > 0 ? singularValues.Max() : 0;
        return singularValues.Select((v, i) => new SpectrumPoint(i + 1, top > 0 ? v / top : 0)).ToArray();
    }

    private static SpectrumPoint[] MeanOf(IReadOnlyList<LayerSpectrum> layers)
    {
        var n = layers.Count == 0 ? 0 : layers.Max(l => l.Normalised.Count);
        return Enumerable.Range(0, n).Select(i =>
        {
            var values = layers.Where(l => i < l.Normalised.Count).Select(l => l.Normalised[i].Value).ToArray();
            return new SpectrumPoint(i + 1, values.Average());
        }).ToArray();
    }
}
