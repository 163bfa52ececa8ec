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

    /// <summary>Replaces the mask (taking ownership of <paramref name="value"/>); null lifts it.</summary>
    public void Set(Tensor? value)
    {
        foreach (var t in doubled.Values) t.Dispose();
        doubled.Clear();
        mask?.Dispose();
        mask = value?.DetachFromDisposeScope();
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

    public void Dispose() => Set(null);
}
