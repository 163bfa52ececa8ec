using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Adapters;

/// <summary>
/// A plain LoRA delta up(down(x)·m) (diffusers' LoRALinearLayer; keys "down.weight", "up.weight"). With a rank mask it is
/// Vanilla T-LoRA; without, the LoRA baseline. Initialised as diffusers: down ~ N(0, 1/r), up = 0.
/// </summary>
public sealed class LoRALinearLayer : Module
{
    public readonly Linear down;
    public readonly Linear up;

    public LoRALinearLayer(long in_features, long out_features, int rank, Generator? generator = null, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(LoRALinearLayer))
    {
        down = Linear(in_features, rank, hasBias: false, device: device, dtype: dtype);
        up = Linear(rank, out_features, hasBias: false, device: device, dtype: dtype);
        // TorchSharp's normal_ hands back a second wrapper of the weight: the scope disposes it
        using (torch.NewDisposeScope())
        using (torch.no_grad())
        {
            down.weight.normal_(0, 1.0 / rank, generator);
            up.weight.zero_();
        }
        RegisterComponents();
    }

    public int rank => (int)down.out_features;

    /// <summary>The delta for input x; <paramref name="mask"/> is [1 or batch, rank] or null for all ranks.</summary>
    public Tensor forward(Tensor x, Tensor? mask)
    {
        using var scope = torch.NewDisposeScope();
        var h = down.call(ToWeightType(x));
        if (mask is not null) h = h * Broadcast(mask, h);
        return up.call(h).to(x.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>The delta under the shared mask of <paramref name="mask"/> (null: all ranks). When the mask keeps the same
    /// leading k components in every row (<see cref="RankMaskContext.ActiveRank"/>), only the first k rows of down and
    /// columns of up take part and nothing is multiplied by the mask: the same delta for less work.</summary>
    public Tensor ForwardWith(Tensor x, RankMaskContext? mask)
    {
        if (mask?.ActiveRank is not int k) return forward(x, mask?.Current);
        if (k >= rank) return forward(x, null);
        using var scope = torch.NewDisposeScope();
        var h = functional.linear(ToWeightType(x), down.weight.narrow(0, 0, k));
        return functional.linear(h, up.weight.narrow(1, 0, k)).to(x.dtype).MoveToOuterDisposeScope();
    }

    private Tensor ToWeightType(Tensor x) => x.dtype == down.weight.dtype ? x : x.to(down.weight.dtype);

    /// <summary>A [batch, rank] mask reshaped to multiply [batch, ..., r] activations. A layer whose rank was capped
    /// by its dims (r below the mask's width) uses the mask's first r columns.</summary>
    internal static Tensor Broadcast(Tensor mask, Tensor h)
    {
        var r = h.size(-1);
        if (mask.size(1) != r) mask = mask.narrow(1, 0, r);
        var shape = new long[h.dim()];
        Array.Fill(shape, 1L);
        shape[0] = mask.size(0);
        shape[^1] = mask.size(1);
        var m = mask.view(shape);
        return m.dtype == h.dtype ? m : m.to(h.dtype);
    }
}
