using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Adapters;

/// <summary>
/// T-LoRA's Ortho-LoRA delta, as the official code: p(q(x)·λ·m) − base_p(base_q(x)·base_λ·m), with q, p, λ initialised
/// from the SVD of a random R ~ N(0, (1/r)²) (out × in): q = rows of Vh, p = columns of U, λ = singular values, taken
/// from the last, middle or principal components. The frozen copies make the delta exactly zero at initialisation while
/// the masked and unmasked rank components start orthogonal. Keys: q_layer.weight, p_layer.weight, lambda_layer,
/// base_q.weight, base_p.weight, base_lambda.
/// </summary>
public sealed class OrthogonalLoRALinearLayer : Module
{
    public readonly Linear q_layer;
    public readonly Linear p_layer;
    public readonly Parameter lambda_layer;
    public readonly Linear base_q;
    public readonly Linear base_p;
    public readonly Parameter base_lambda;

    public OrthogonalLoRALinearLayer(long in_features, long out_features, int rank, InitComponents init = InitComponents.Last,
        Generator? generator = null, ScalarType dtype = ScalarType.Float32, Device? device = null)
        : this(in_features, out_features, rank, (InitComponents?)init, generator, dtype, device)
    {
    }

    /// <summary>A layer whose every weight a checkpoint fills next (an adapter file being loaded, a job resuming): its
    /// tensors are allocated but not initialised, because the initialisation's SVD of a random out × in matrix is the
    /// dearest thing in building a layer (1280 × 2048 on one CPU thread: ~1.1 s; a whole SD-XL adapter: minutes) and a
    /// load would overwrite all of it. Use only where a strict load of every key follows
    /// (<see cref="AdapterNetwork.LoadWeights"/>).</summary>
    public static OrthogonalLoRALinearLayer ForLoading(long in_features, long out_features, int rank,
        ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        new(in_features, out_features, rank, null, null, dtype, device);

    /// <summary>Layers initialised from an SVD on this thread since it started: lets tests see that loading skips it.</summary>
    [ThreadStatic] internal static int SvdInitialisations;

    private OrthogonalLoRALinearLayer(long in_features, long out_features, int rank, InitComponents? init, Generator? generator,
        ScalarType dtype, Device? device) : base(nameof(OrthogonalLoRALinearLayer))
    {
        if (rank > Math.Min(in_features, out_features))
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank {rank} exceeds the layer's dims {out_features}×{in_features}");
        q_layer = Linear(in_features, rank, hasBias: false, device: device, dtype: dtype);
        p_layer = Linear(rank, out_features, hasBias: false, device: device, dtype: dtype);
        base_q = Linear(in_features, rank, hasBias: false, device: device, dtype: dtype);
        base_p = Linear(rank, out_features, hasBias: false, device: device, dtype: dtype);
        lambda_layer = new Parameter(torch.ones([1, rank], device: device, dtype: dtype));
        base_lambda = new Parameter(torch.ones([1, rank], device: device, dtype: dtype), requires_grad: false);
        if (init is { } components) Initialise(in_features, out_features, rank, components, generator);
        base_q.requires_grad_(false);
        base_p.requires_grad_(false);
        RegisterComponents();
    }

    public int rank => (int)q_layer.out_features;
    public long in_features => q_layer.in_features;
    public long out_features => p_layer.out_features;

    private void Initialise(long inF, long outF, int rank, InitComponents init, Generator? generator)
    {
        using var r = RandomMatrix(inF, outF, rank, generator);
        InitialiseFrom(r, init);
    }

    /// <summary>The initialisation's random matrix R ~ N(0, (1/r)²), out × in, from <paramref name="generator"/> (the
    /// official code's draw); the caller disposes it. Counted in <see cref="SvdInitialisations"/>.</summary>
    internal static Tensor RandomMatrix(long in_features, long out_features, int rank, Generator? generator)
    {
        SvdInitialisations++;
        using var scope = torch.NewDisposeScope();
        return (torch.randn([out_features, in_features], dtype: ScalarType.Float32, generator: generator) * Sc(1.0 / rank))
            .MoveToOuterDisposeScope();
    }

    /// <summary>Sets q, p, λ and their frozen copies from the SVD of <paramref name="r"/> (<see cref="RandomMatrix"/>):
    /// q = rows of Vh, p = columns of U, λ = singular values, over the components <paramref name="init"/> names. Touches
    /// only this layer and makes and frees its own tensors, so layers may be initialised on several threads at once
    /// (<see cref="OrthogonalInitialisation"/>).</summary>
    internal void InitialiseFrom(Tensor r, InitComponents init)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var (u, s, vh) = torch.linalg.svd(r, fullMatrices: false);
        var k = s.size(0);
        var start = init switch
        {
            InitComponents.Principal => 0,
            InitComponents.Last => k - rank,
            // the official code centres the window: ⌈(min(out, in) − r) / 2⌉
            InitComponents.Middle => (long)Math.Ceiling((k - rank) / 2.0),
            _ => throw new ArgumentOutOfRangeException(nameof(init)),
        };
        var q = vh.narrow(0, start, rank);
        var p = u.narrow(1, start, rank);
        var l = s.narrow(0, start, rank).unsqueeze(0);
        foreach (var (dst, src) in new[] { (q_layer.weight, q), (base_q.weight, q), (p_layer.weight, p), (base_p.weight, p),
                     ((Tensor)lambda_layer, l), ((Tensor)base_lambda, l) })
            dst.copy_(src);
    }

    /// <summary>The delta for input x; <paramref name="mask"/> is [1 or batch, rank] or null for all ranks.</summary>
    /// <remarks>
    /// The official delta p(q(x)·λ·m) − base_p(base_q(x)·base_λ·m) as two stacked projections, so a T-LoRA projection
    /// makes as many matmul calls and activation-sized multiplies as a LoRA one, written so that it is exactly zero
    /// while the trainable halves equal the frozen ones (at initialisation), as the official code's difference of two
    /// identical results is: [a, b] = x·[Q − Q₀; Q₀]ᵀ (so a + b = x·Qᵀ), and
    /// delta = [a·m, b·m]·[P·diag(λ), P·diag(λ) − P₀·diag(λ₀)]ᵀ = (a + b)·m·diag(λ)·Pᵀ − b·m·diag(λ₀)·P₀ᵀ.
    /// At initialisation Q − Q₀ is an exact zero (so a is), and P·diag(λ) − P₀·diag(λ₀) is one too (elementwise
    /// products of equal numbers), so every product in both sums is 0 whatever order the kernels add in. The
    /// differences are taken on [r, in] and [out, r] weights only. Gradients reach q, p and λ through them and the
    /// concatenations; the frozen copies get none.
    /// </remarks>
    public Tensor forward(Tensor x, Tensor? mask)
    {
        if (mask is null) return Delta(x, null);
        using var scope = torch.NewDisposeScope();
        return Delta(x, RankMaskContext.DoubledMask(mask, rank, x.dim(), q_layer.weight.dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>The delta for input x under the shared mask of <paramref name="mask"/> (null: all ranks); its
    /// doubled mask is built once per model call, not once per projection.</summary>
    /// <remarks>Under a mask that keeps the same leading k components in every row
    /// (<see cref="RankMaskContext.ActiveRank"/>, every model call of training and sampling), or no mask (k = r), only
    /// the first k components of each weight take part and nothing is multiplied by the mask: the same delta and
    /// gradients (the masked components' are exact zeros either way), its activation path 2k wide instead of 2r. Any
    /// other mask is multiplied in.</remarks>
    public Tensor ForwardWith(Tensor x, RankMaskContext? mask)
    {
        if (mask?.Current is not null && mask.ActiveRank is null)
            return Delta(x, mask.Doubled(rank, x.dim(), q_layer.weight.dtype));
        var k = Math.Min(mask?.ActiveRank ?? rank, rank);
        using var scope = torch.NewDisposeScope();
        var h = x.dtype == q_layer.weight.dtype ? x : x.to(q_layer.weight.dtype);
        // inside a model call, from the batched stacks (see StackedOrthogonalWeights); they are then ours to free
        var taken = mask?.Stacked?.Take(this, k);
        try
        {
            var (wq, wp) = taken ?? Weights(k);
            var delta = functional.linear(functional.linear(h, wq), wp);
            return (delta.dtype == x.dtype ? delta : delta.to(x.dtype)).MoveToOuterDisposeScope();
        }
        finally
        {
            taken?.Wq.Dispose();
            taken?.Wp.Dispose();
        }
    }

    // mm: [m, m] shaped like z (see RankMaskContext.DoubledMask) or null
    private Tensor Delta(Tensor x, Tensor? mm)
    {
        using var scope = torch.NewDisposeScope();
        var h = x.dtype == q_layer.weight.dtype ? x : x.to(q_layer.weight.dtype);
        var (q, p) = Weights(rank);
        var z = functional.linear(h, q); // [a, b]
        if (mm is not null) z = z * mm;
        var delta = functional.linear(z, p);
        return (delta.dtype == x.dtype ? delta : delta.to(x.dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>[Q − Q₀; Q₀] (2k × in) and [P·diag(λ), P·diag(λ) − P₀·diag(λ₀)] (out × 2k) over the first k components
    /// (see <see cref="forward"/>).</summary>
    private (Tensor Wq, Tensor Wp) Weights(int k) =>
        CombinedWeights(q_layer.weight, base_q.weight, p_layer.weight, base_p.weight, lambda_layer, base_lambda, k);

    /// <summary>The combined weights of <see cref="Weights"/> from q, q₀ [.., r, in], p, p₀ [.., out, r] and λ, λ₀
    /// [.., 1, r] over their first <paramref name="k"/> components: one layer's, or a stack of layers' (leading dims),
    /// by the same ops, so both give the same numbers (<see cref="StackedOrthogonalWeights"/>).</summary>
    internal static (Tensor Wq, Tensor Wp) CombinedWeights(Tensor q, Tensor q0, Tensor p, Tensor p0, Tensor l, Tensor l0, int k)
    {
        if (k < q.size(-2))
        {
            (q, q0) = (q.narrow(-2, 0, k), q0.narrow(-2, 0, k));
            (p, p0) = (p.narrow(-1, 0, k), p0.narrow(-1, 0, k));
            (l, l0) = (l.narrow(-1, 0, k), l0.narrow(-1, 0, k));
        }
        var pl = p * l;
        return (torch.cat([q.sub(q0), q0], -2), torch.cat([pl, pl.sub(p0 * l0)], -1));
    }
}
