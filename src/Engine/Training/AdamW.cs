using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Training;

/// <summary>
/// torch.optim.AdamW (decoupled weight decay, no amsgrad) with PyTorch 2.x's single-tensor numerics
/// (<c>exp_avg.lerp_(g, 1 − β1)</c>; TorchSharp's own AdamW composes mul_/add_ there, which rounds differently), and a
/// state that saves by parameter index ("{i}.exp_avg", "{i}.exp_avg_sq", "step") so a job resumes bit-exactly.
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly Parameter[] parameters;
    private readonly Tensor?[] expAvg;
    private readonly Tensor?[] expAvgSq;

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
        expAvg = new Tensor?[this.parameters.Length];
        expAvgSq = new Tensor?[this.parameters.Length];
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
        for (var i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            var g = p.grad;
            if (g is null) continue;
            var m = expAvg[i] ??= NewState(p);
            var v = expAvgSq[i] ??= NewState(p);
            if (weight_decay != 0) p.mul_(Sc(1.0 - lr * weight_decay));
            m.lerp_(g, 1.0 - beta1);
            v.mul_(Sc(beta2)).addcmul_(g, g, Sc(1.0 - beta2));
            var denom = (v.sqrt() / Sc(Math.Sqrt(bc2))).PlusInPlace(Sc(eps));
            p.addcdiv_(m, denom, Sc(-lr / bc1));
        }
    }

    private static Tensor NewState(Tensor p) => torch.zeros_like(p).DetachFromDisposeScope();

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
            if (expAvg[i] is { } m) d[$"{i}.exp_avg"] = m.clone();
            if (expAvgSq[i] is { } v) d[$"{i}.exp_avg_sq"] = v.clone();
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
            expAvg[i]?.Dispose();
            expAvgSq[i]?.Dispose();
            expAvg[i] = m!.to(parameters[i].dtype, parameters[i].device, copy: true).DetachFromDisposeScope();
            expAvgSq[i] = v!.to(parameters[i].dtype, parameters[i].device, copy: true).DetachFromDisposeScope();
        }
        step_count = step.item<long>();
    }

    public void Dispose()
    {
        foreach (var t in expAvg.Concat(expAvgSq)) t?.Dispose();
    }
}
