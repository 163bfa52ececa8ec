using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Adapters;

/// <summary>One adapted projection's spectra and orthogonality (the paper's Fig. 4 analysis).</summary>
public sealed record LayerInspection(string Layer, string Block, int Rank, double[] DeltaSingularValues, double[] UpSingularValues,
    int EffectiveRank, double QOrthogonalityError, double POrthogonalityError);

/// <summary>Over all layers: means of the per-layer numbers, and per block.</summary>
public sealed record InspectionSummary(int Layers, double MeanEffectiveRank, double MeanQOrthogonalityError, double MeanPOrthogonalityError,
    IReadOnlyDictionary<string, double> MeanEffectiveRankByBlock);

/// <summary>
/// Inspects an adapter's deltas: singular values of ΔW (for T-LoRA P·diag(λ)·Q − P₀·diag(λ₀)·Q₀ with every rank active;
/// for LoRA up·down) and of the up/P matrix, the effective rank (fewest singular values holding 95% of their sum),
/// ‖QQᵀ − I‖_F and ‖PᵀP − I‖_F. ΔW is never formed: its singular values are those of the small (2r × in) factor
/// after an SVD of the (out × 2r) left factor, so inspecting an SD-XL adapter stays cheap.
/// </summary>
public static class AdapterInspector
{
    public const double EnergyFraction = 0.95;

    public static IReadOnlyList<LayerInspection> Inspect(AdapterNetwork network) =>
        Inspect(network.Layers.Select(l => (l.Path, l.Processor)));

    /// <summary>Inspects processors by attention path (attached to a model or read from a file alone).</summary>
    public static IReadOnlyList<LayerInspection> Inspect(IEnumerable<(string Path, TLoRAAttentionProcessor Processor)> processors)
    {
        var result = new List<LayerInspection>();
        using var noGrad = torch.no_grad();
        foreach (var (path, processor) in processors)
            foreach (var (projection, layer) in processor.Layers)
                result.Add(InspectLayer($"{path}.{projection}", BlockOf(path), layer));
        return result;
    }

    public static InspectionSummary Summarise(IReadOnlyList<LayerInspection> layers) => new(
        layers.Count,
        layers.Count == 0 ? 0 : layers.Average(l => l.EffectiveRank),
        layers.Count == 0 ? 0 : layers.Average(l => l.QOrthogonalityError),
        layers.Count == 0 ? 0 : layers.Average(l => l.POrthogonalityError),
        layers.GroupBy(l => l.Block).ToDictionary(g => g.Key, g => g.Average(l => l.EffectiveRank)));

    /// <summary>"down_blocks.1", "mid_block", "up_blocks.0", "transformer_blocks.3", ... — the first two path parts
    /// (one when the second is not an index).</summary>
    public static string BlockOf(string path)
    {
        var parts = path.Split('.');
        return parts.Length > 1 && int.TryParse(parts[1], out _) ? $"{parts[0]}.{parts[1]}" : parts[0];
    }

    /// <summary>The smallest k whose first k singular values (sorted descending) hold <paramref name="fraction"/> of the sum.</summary>
    public static int EffectiveRank(IReadOnlyList<double> singularValues, double fraction = EnergyFraction)
    {
        var total = singularValues.Sum();
        if (total <= 0) return 0;
        double acc = 0;
        for (var i = 0; i < singularValues.Count; i++)
        {
            acc += singularValues[i];
            if (acc >= fraction * total - 1e-12 * total) return i + 1;
        }
        return singularValues.Count;
    }

    private static LayerInspection InspectLayer(string name, string block, nn.Module layer)
    {
        using var scope = torch.NewDisposeScope();
        Tensor left, right, q, p;
        switch (layer)
        {
            case OrthogonalLoRALinearLayer o:
                // ΔW = [P·diag(λ), −P₀·diag(λ₀)] · [Q; Q₀]
                left = torch.cat([o.p_layer.weight * o.lambda_layer, -(o.base_p.weight * o.base_lambda)], 1);
                right = torch.cat([o.q_layer.weight, o.base_q.weight], 0);
                q = o.q_layer.weight;
                p = o.p_layer.weight;
                break;
            case LoRALinearLayer l:
                left = l.up.weight;
                right = l.down.weight;
                q = l.down.weight;
                p = l.up.weight;
                break;
            default:
                throw new ArgumentException($"unknown adapter layer {layer.GetType().Name}");
        }
        var l64 = left.to(ScalarType.Float64);
        var r64 = right.to(ScalarType.Float64);
        var (_, sa, vah) = torch.linalg.svd(l64, fullMatrices: false);
        var small = (sa.unsqueeze(1) * vah).matmul(r64);
        var (_, s, _) = torch.linalg.svd(small, fullMatrices: false);
        var (_, sp, _) = torch.linalg.svd(p.to(ScalarType.Float64), fullMatrices: false);
        // values at rounding level of the factors are zeros (a T-LoRA delta at initialisation is exactly 0)
        var (_, sr, _) = torch.linalg.svd(r64, fullMatrices: false);
        var floor = 1e-9 * sa.amax().ItemDouble() * sr.amax().ItemDouble();
        var delta = s.ToArray<double>().Select(v => v <= floor ? 0 : v).ToArray();
        var q64 = q.to(ScalarType.Float64);
        var p64 = p.to(ScalarType.Float64);
        var qErr = (q64.matmul(q64.mT) - torch.eye(q64.size(0), dtype: ScalarType.Float64)).norm().ItemDouble();
        var pErr = (p64.mT.matmul(p64) - torch.eye(p64.size(1), dtype: ScalarType.Float64)).norm().ItemDouble();
        return new LayerInspection(name, block, (int)q.size(0), delta, sp.ToArray<double>(), EffectiveRank(delta), qErr, pErr);
    }
}
