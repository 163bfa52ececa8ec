using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Adapters;

/// <summary>
/// The rank mask in force for the current model call, shared by every adapter layer of a model (the official code
/// passes it through cross_attention_kwargs). Null means all ranks. Set it before each forward; it is owned here.
/// </summary>
public sealed class RankMaskContext : IDisposable
{
    private Tensor? mask;

    // the current mask as T-LoRA layers multiply it, per (rank, activation dims, dtype): built once per Set instead of
    // once per projection (a model call runs hundreds of projections with the same mask)
    private readonly Dictionary<(long Rank, long Dims, ScalarType Type), Tensor> doubled = [];

    public Tensor? Current => mask;

    /// <summary>The T-LoRA projections' batched weights for the current model call (null for other methods).</summary>
    internal StackedOrthogonalWeights? Stacked { get; set; }

    /// <summary>
    /// When every row of the mask keeps the same leading k columns and none after them (a rank schedule's mask for one
    /// timestep, as every model call of training and sampling has), k; otherwise null. Layers then use the first k
    /// rank components of their weights instead of multiplying activations by the mask: the masked components
    /// contribute exact zeros either way, so this is the same delta and the same gradients for less work.
    /// </summary>
    public int? ActiveRank { get; private set; }

    /// <summary>Replaces the mask (taking ownership of <paramref name="value"/>); null lifts it. <paramref name="activeRank"/>
    /// is the mask's uniform leading rank when the caller knows it (read from the mask otherwise).</summary>
    public void Set(Tensor? value, int? activeRank = null)
    {
        foreach (var t in doubled.Values) t.Dispose();
        doubled.Clear();
        mask?.Dispose();
        mask = value?.DetachFromDisposeScope();
        ActiveRank = mask is null ? null : activeRank ?? UniformPrefix(mask);
    }

    /// <summary>The k of a [batch, rank] 0/1 mask whose rows are all k ones then zeros (k ≥ 1); null for any other mask.</summary>
    internal static int? UniformPrefix(Tensor mask)
    {
        if (mask.dim() != 2 || mask.size(0) == 0 || mask.size(1) == 0) return null;
        using var scope = torch.NewDisposeScope();
        var values = mask.detach().to(ScalarType.Float32, torch.CPU).contiguous().data<float>().ToArray();
        var width = (int)mask.size(1);
        int? k = null;
        for (var row = 0; row < values.Length / width; row++)
        {
            var ones = 0;
            while (ones < width && values[row * width + ones] == 1f) ones++;
            for (var j = ones; j < width; j++)
                if (values[row * width + j] != 0f) return null;
            if (ones == 0 || (k is { } first && first != ones)) return null;
            k = ones;
        }
        return k;
    }

    /// <summary>The current mask's first <paramref name="rank"/> columns twice, [m, m], shaped [batch, 1, …, 1, 2·rank]
    /// to multiply activations of <paramref name="dims"/> dimensions, in <paramref name="type"/>; null when there is no
    /// mask. Cached until the next <see cref="Set"/> and owned here: do not dispose.</summary>
    public Tensor? Doubled(long rank, long dims, ScalarType type)
    {
        if (mask is null) return null;
        if (doubled.TryGetValue((rank, dims, type), out var cached)) return cached;
        Tensor result;
        using (torch.NewDisposeScope())
        using (torch.no_grad())
        {
            result = DoubledMask(mask, rank, dims, type).DetachFromDisposeScope();
        }
        doubled[(rank, dims, type)] = result;
        return result;
    }

    /// <summary>[m, m] of <paramref name="mask"/>'s first <paramref name="rank"/> columns, shaped to multiply
    /// activations of <paramref name="dims"/> dimensions (see <see cref="Doubled"/>); a new tensor.</summary>
    internal static Tensor DoubledMask(Tensor mask, long rank, long dims, ScalarType type)
    {
        var m = mask.size(1) == rank ? mask : mask.narrow(1, 0, rank);
        m = m.dtype == type ? m : m.to(type);
        var shape = new long[dims];
        Array.Fill(shape, 1L);
        shape[0] = m.size(0);
        shape[^1] = 2 * rank;
        return torch.cat([m, m], 1).view(shape);
    }

    public void Dispose()
    {
        Set(null);
        Stacked?.Dispose();
    }
}
