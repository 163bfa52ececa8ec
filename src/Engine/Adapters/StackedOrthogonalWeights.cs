using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Adapters;

/// <summary>
/// The stacked weights [Q − Q₀; Q₀] and [P·diag(λ), P·diag(λ) − P₀·diag(λ₀)] of every T-LoRA projection of a model,
/// built for one model call in a few batched ops per group of same-shaped projections instead of eight small ops per
/// projection: on the bench's mid config (560 projections, KB-sized weights) those ops and their backward nodes were
/// T-LoRA's whole extra cost over LoRA (dispatch, not FLOPs). Each projection then takes its two weights as views of
/// the group's stacks (one unbind per stack, whose backward is one stack of the gradients).
/// <para>Only inside a <see cref="AdapterNetwork.BeginCall"/> scope, which wraps exactly one model call: the weights
/// cannot change in there, so nothing is ever stale. Each projection takes its weights once per scope; anything else
/// (a second forward in the scope, gradient checkpointing's recomputation in backward, a forward outside any scope,
/// a mask that is not a uniform prefix) computes them per projection as before. Same values bit for bit: the same
/// elementwise ops on the same numbers (one function, OrthogonalLoRALinearLayer.CombinedWeights; StackedOrthogonalWeightsTests).</para>
/// </summary>
internal sealed class StackedOrthogonalWeights : IDisposable
{
    private readonly Dictionary<OrthogonalLoRALinearLayer, (Group Group, int Index)> places = [];
    private readonly List<Group> groups = [];
    private bool open;

    /// <summary>Projections that took their weights from the stacks since the last <see cref="Open"/>.</summary>
    internal int Taken { get; private set; }

    /// <param name="layers">every T-LoRA projection of the model, in call order.</param>
    public StackedOrthogonalWeights(IEnumerable<OrthogonalLoRALinearLayer> layers)
    {
        foreach (var shape in layers.GroupBy(l => (l.in_features, l.out_features, l.rank, l.q_layer.weight.dtype, l.q_layer.weight.device.ToString())))
        {
            var group = new Group([.. shape]);
            groups.Add(group);
            for (var i = 0; i < group.Layers.Count; i++) places[group.Layers[i]] = (group, i);
        }
    }

    /// <summary>Starts a model call: stacks are built on first use and handed out once per projection.</summary>
    public void Open()
    {
        Close();
        open = true;
        Taken = 0;
    }

    /// <summary>Ends the model call: frees what no projection took.</summary>
    public void Close()
    {
        open = false;
        foreach (var g in groups) g.Clear();
    }

    /// <summary>The stacked weights of <paramref name="layer"/> over its first <paramref name="k"/> components, now the
    /// caller's to dispose; null outside a call, without autograd, on a second request in one call, or for a k the
    /// group was not built with (the caller then computes them itself).</summary>
    /// <remarks>Without autograd (sampling; a checkpointed block's first pass) the stacks only cost: they save autograd
    /// nodes, and there are none, while building them allocates and copies every T-LoRA weight of the model per call.
    /// Measured on the bench's mid UNet, no_grad forward at batch 2, 1 thread, medians of 5 × 5 timesteps (two runs):
    /// no adapter 274 / 270 ms, LoRA 299 / 302, T-LoRA from the stacks 388 / 505, per projection 327 / 332. And stacks
    /// built without autograd would hand weights without a graph to a later forward with it in the same call.</remarks>
    public (Tensor Wq, Tensor Wp)? Take(OrthogonalLoRALinearLayer layer, int k)
    {
        if (!open || !torch.is_grad_enabled() || !places.TryGetValue(layer, out var place)) return null;
        var (group, index) = place;
        if (group.K is null) group.Build(k);
        if (group.K != k || group.Wq[index] is not { } wq || group.Wp[index] is not { } wp) return null;
        group.Wq[index] = null;
        group.Wp[index] = null;
        Taken++;
        return (wq, wp);
    }

    public void Dispose() => Close();

    private sealed class Group(List<OrthogonalLoRALinearLayer> layers)
    {
        public List<OrthogonalLoRALinearLayer> Layers { get; } = layers;
        public int? K { get; private set; }
        public Tensor?[] Wq { get; } = new Tensor?[layers.Count];
        public Tensor?[] Wp { get; } = new Tensor?[layers.Count];

        // OrthogonalLoRALinearLayer's own combination, on [L, …] stacks: elementwise, so the same numbers
        public void Build(int k)
        {
            using var scope = torch.NewDisposeScope();
            Tensor Stack(Func<OrthogonalLoRALinearLayer, Tensor> weight) => torch.stack(Layers.Select(weight));
            var (stackedQ, stackedP) = OrthogonalLoRALinearLayer.CombinedWeights(Stack(l => l.q_layer.weight), Stack(l => l.base_q.weight),
                Stack(l => l.p_layer.weight), Stack(l => l.base_p.weight), Stack(l => l.lambda_layer), Stack(l => l.base_lambda), k);
            var wq = stackedQ.unbind(0);
            var wp = stackedP.unbind(0);
            for (var i = 0; i < Layers.Count; i++)
            {
                Wq[i] = wq[i].DetachFromDisposeScope();
                Wp[i] = wp[i].DetachFromDisposeScope();
            }
            K = k;
        }

        public void Clear()
        {
            for (var i = 0; i < Wq.Length; i++)
            {
                Wq[i]?.Dispose();
                Wp[i]?.Dispose();
                Wq[i] = Wp[i] = null;
            }
            K = null;
        }
    }
}
