using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Training;

/// <summary>
/// torch.optim.AdamW (decoupled weight decay, no amsgrad) with PyTorch 2.x's single-tensor numerics
/// (<c>exp_avg.lerp_(g, 1 − β1)</c>; TorchSharp's own AdamW composes mul_/add_ there, which rounds differently), and a
/// state that saves by parameter index ("{i}.exp_avg", "{i}.exp_avg_sq", "step") so a job resumes bit-exactly.
/// <para>The moments of all parameters of one dtype and device live in one flat buffer each (every parameter's state is
/// a view of it), and a step copies the gradients into a third (which then holds the denominator), updates the moments
/// with a handful of ops over the whole buffers, then each parameter with two (decay, addcdiv): 3 small ops per
/// parameter instead of 8, for one more buffer the size of the parameters. A T-LoRA adapter has ~1,700 parameter tensors on the
/// bench's mid config (~4,000 on SD-XL), each a few KB, so the per-tensor form was dispatch: ~65 ms of a ~580 ms CPU
/// step, and 8 kernel launches per tensor on a GPU. The same elementwise ops as PyTorch's single-tensor AdamW, in
/// the same order; a step where some parameter has no gradient falls back to the per-parameter form for all.</para>
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly Parameter[] parameters;
    private readonly Tensor[] expAvg; // views of a flat buffer per group
    private readonly Tensor[] expAvgSq;
    private readonly Tensor[] workView; // a flat buffer per group: the gradients, then the step's denominator
    private readonly List<FlatGroup> groups = [];
    private readonly bool[] hasState; // a parameter's state counts once it has stepped (PyTorch makes it lazily)

    public AdamW(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weight_decay = 1e-2)
    {
        this.parameters = parameters.ToArray();
        if (lr < 0) throw new ArgumentOutOfRangeException(nameof(lr), lr, "learning rate must be ≥ 0");
        if (beta1 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "beta1 must be in [0, 1)");
        if (beta2 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "beta2 must be in [0, 1)");
        if (eps < 0) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be ≥ 0");
        if (weight_decay < 0)
            throw new ArgumentOutOfRangeException(nameof(weight_decay), weight_decay, "weight decay must be ≥ 0");
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weight_decay = weight_decay;
        expAvg = new Tensor[this.parameters.Length];
        expAvgSq = new Tensor[this.parameters.Length];
        workView = new Tensor[this.parameters.Length];
        hasState = new bool[this.parameters.Length];
        foreach (var same in Enumerable.Range(0, this.parameters.Length)
                     .GroupBy(i => (this.parameters[i].dtype, this.parameters[i].device.ToString())))
            groups.Add(new FlatGroup(this, [.. same]));
    }

    /// <summary>Parameters of one dtype and device: their moments and a work buffer (the step's gradients, then its
    /// denominator) as flat buffers, each parameter's part a view.</summary>
    private sealed class FlatGroup
    {
        public FlatGroup(AdamW owner, int[] indices)
        {
            Indices = indices;
            var first = owner.parameters[indices[0]];
            var total = indices.Sum(i => owner.parameters[i].numel());
            // owned here, not by whatever dispose scope the optimiser is made in
            ExpAvg = torch.zeros(total, dtype: first.dtype, device: first.device).DetachFromDisposeScope();
            ExpAvgSq = torch.zeros(total, dtype: first.dtype, device: first.device).DetachFromDisposeScope();
            Work = torch.zeros(total, dtype: first.dtype, device: first.device).DetachFromDisposeScope();
            long offset = 0;
            foreach (var i in indices)
            {
                var p = owner.parameters[i];
                var n = p.numel();
                owner.expAvg[i] = View(ExpAvg, offset, p);
                owner.expAvgSq[i] = View(ExpAvgSq, offset, p);
                owner.workView[i] = View(Work, offset, p);
                offset += n;
            }
        }

        private static Tensor View(Tensor flat, long offset, Tensor p)
        {
            using var scope = torch.NewDisposeScope();
            return flat.narrow(0, offset, p.numel()).view(p.shape).DetachFromDisposeScope();
        }

        public int[] Indices { get; }
        public Tensor ExpAvg { get; }
        public Tensor ExpAvgSq { get; }
        public Tensor Work { get; }

        public void Dispose()
        {
            ExpAvg.Dispose();
            ExpAvgSq.Dispose();
            Work.Dispose();
        }
    }

    /// <summary>Learning rate used by the next step (a schedule may change it between steps).</summary>
    public double lr { get; set; }
    public double beta1 { get; }
    public double beta2 { get; }
    public double eps { get; }
    public double weight_decay { get; }

    /// <summary>Steps taken (PyTorch counts per parameter; all parameters here step together).</summary>
    public long step_count { get; private set; }

    public IReadOnlyList<Parameter> Parameters => parameters;

    /// <summary>Updates every parameter that has a gradient: p ·= 1 − lr·wd; m = lerp(m, g, 1 − β1);
    /// v = β2·v + (1 − β2)·g²; p −= lr/(1 − β1ᵗ) · m / (√v/√(1 − β2ᵗ) + ε).</summary>
    public void step()
    {
        step_count++;
        var bc1 = 1.0 - Math.Pow(beta1, step_count);
        var bc2 = 1.0 - Math.Pow(beta2, step_count);
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        foreach (var group in groups)
        {
            if (group.Indices.All(i => parameters[i].grad is not null)) StepFlat(group, bc1, bc2);
            else foreach (var i in group.Indices) StepOne(i, bc1, bc2);
        }
    }

    // over the group's flat buffers: the gradients go into the work buffer, which then takes the denominator
    private void StepFlat(FlatGroup group, double bc1, double bc2)
    {
        foreach (var i in group.Indices) workView[i].copy_(parameters[i].grad!);
        Moments(group.ExpAvg, group.ExpAvgSq, group.Work, group.Work, bc2);
        var (decay, rate) = (Sc(1.0 - lr * weight_decay), Sc(-lr / bc1)); // made once, held: no Sc() in the loop
        foreach (var i in group.Indices) Apply(i, decay, rate);
    }

    // one parameter (a step where some parameter of its group has no gradient: that one is skipped)
    private void StepOne(int i, double bc1, double bc2)
    {
        if (parameters[i].grad is not { } g) return;
        Moments(expAvg[i], expAvgSq[i], g, workView[i], bc2);
        Apply(i, Sc(1.0 - lr * weight_decay), Sc(-lr / bc1));
    }

    // PyTorch's single-tensor AdamW: m = lerp(m, g, 1 − β1); v = β2·v + (1 − β2)·g²; denom = √v / √bc2 + ε (into
    // denom, which may be g's own storage: g is not read after v's update)
    private void Moments(Tensor m, Tensor v, Tensor g, Tensor denom, double bc2)
    {
        m.lerp_(g, 1.0 - beta1);
        v.mul_(Sc(beta2)).addcmul_(g, g, Sc(1.0 - beta2));
        denom.copy_(v).sqrt_().div_(Sc(Math.Sqrt(bc2))).PlusInPlace(Sc(eps));
    }

    // p ·= 1 − lr·wd; p −= lr/bc1 · m / denom (the denominator in the parameter's part of the work buffer)
    private void Apply(int i, Scalar decay, Scalar rate)
    {
        var p = parameters[i];
        if (weight_decay != 0) p.mul_(decay);
        p.addcdiv_(expAvg[i], workView[i], rate);
        hasState[i] = true;
    }

    /// <summary>Drops every gradient (PyTorch's default set_to_none).</summary>
    public void zero_grad()
    {
        foreach (var p in parameters) p.grad = null;
    }

    /// <summary>State as named tensors ("{index}.exp_avg", "{index}.exp_avg_sq", "step"), to save beside an adapter.
    /// The tensors are copies owned by the caller.</summary>
    public Dictionary<string, Tensor> state_dict()
    {
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal) { ["step"] = torch.tensor(step_count) };
        for (var i = 0; i < parameters.Length; i++)
        {
            if (!hasState[i]) continue;
            d[$"{i}.exp_avg"] = expAvg[i].clone();
            d[$"{i}.exp_avg_sq"] = expAvgSq[i].clone();
        }
        return d;
    }

    /// <summary>Restores a state saved by <see cref="state_dict"/> for the same parameter list.</summary>
    public void load_state_dict(IReadOnlyDictionary<string, Tensor> state)
    {
        if (!state.TryGetValue("step", out var step)) throw new KeyNotFoundException("optimizer state has no 'step'");
        for (var i = 0; i < parameters.Length; i++)
        {
            var hasM = state.TryGetValue($"{i}.exp_avg", out var m);
            var hasV = state.TryGetValue($"{i}.exp_avg_sq", out var v);
            if (hasM != hasV)
                throw new KeyNotFoundException($"optimizer state for parameter {i} has only one of exp_avg, exp_avg_sq");
            if (!hasM) continue;
            foreach (var (name, t) in new[] { ("exp_avg", m!), ("exp_avg_sq", v!) })
                if (!t.shape.SequenceEqual(parameters[i].shape))
                    throw new ArgumentException($"optimizer state {i}.{name} has shape [{string.Join(", ", t.shape)}], " +
                                                $"parameter has [{string.Join(", ", parameters[i].shape)}]");
            using (torch.no_grad())
            {
                expAvg[i].copy_(m!); // into the flat buffers (copy_ converts dtype and device)
                expAvgSq[i].copy_(v!);
            }
            hasState[i] = true;
        }
        step_count = step.item<long>();
    }

    public void Dispose()
    {
        foreach (var t in expAvg.Concat(expAvgSq).Concat(workView)) t?.Dispose();
        foreach (var g in groups) g.Dispose();
    }
}
