using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Common;

/// <summary>
/// Gradient (activation) checkpointing of one block, as torch.utils.checkpoint with use_reentrant=True: the forward
/// runs without autograd, so none of the block's intermediates stay alive until backward; backward runs the block
/// again with autograd on and backpropagates through that recomputed graph (adapter gradients accumulate as usual).
/// Memory falls by the block's activations, time rises by one more forward of the block.
/// <para>The block must compute the same thing twice: it may read weights, adapters and the rank mask, which do not
/// change between a step's forward and backward, and must draw no random numbers (the frozen models run in eval
/// mode: no dropout). Every tensor the block reads other than parameters and the rank mask must be one of its inputs
/// (the caller frees its own tensors long before backward; inputs are kept alive by autograd).</para>
/// <para>An exception in the recomputation cannot cross libtorch's backward (it would end the process): it is kept,
/// the gradients of that block are left out, and <see cref="ThrowIfFailed"/> after backward throws it.</para>
/// </summary>
public static class GradientCheckpoint
{
    /// <summary>Blocks recomputed in backward on this thread so far (tests check that checkpointing ran).</summary>
    [ThreadStatic] internal static long Recomputed;

    [ThreadStatic] private static Exception? failure;

    /// <summary>Throws (once) what went wrong recomputing a block during the last backward on this thread.</summary>
    public static void ThrowIfFailed()
    {
        if (failure is not { } e) return;
        failure = null;
        throw new InvalidOperationException($"gradient checkpointing: recomputing a block in backward failed: {e.Message}", e);
    }

    /// <summary>Whether to checkpoint now: enabled and autograd is recording (never under no_grad, e.g. sampling).</summary>
    public static bool Active(bool enabled) => enabled && torch.is_grad_enabled();

    /// <summary>Runs <paramref name="block"/> (whose parameters are <paramref name="owner"/>'s) on
    /// <paramref name="inputs"/> (null entries allowed) with checkpointing. A block with nothing to train and no input
    /// that needs a gradient (a frozen resnet before the first adapter) records nothing, so it runs plainly: recomputing
    /// it in backward would be wasted.</summary>
    public static Tensor[] Run(nn.Module owner, Func<Tensor?[], Tensor[]> block, params Tensor?[] inputs)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(block);
        ArgumentNullException.ThrowIfNull(inputs);
        if (!inputs.Any(t => t is { requires_grad: true }) && !owner.parameters().Any(p => p.requires_grad)) return block(inputs);
        // An input that requires grad makes autograd record the node even when no real input does (the first adapted
        // block's hidden states come from frozen layers), so the adapters inside still get their gradients.
        using var anchor = torch.empty(0, requires_grad: true);
        var vars = new object?[inputs.Length + 2];
        vars[0] = block;
        vars[1] = anchor;
        Array.Copy(inputs, 0, vars, 2, inputs.Length);
        return Function.apply(vars!).ToArray();
    }

    private sealed class Function : torch.autograd.MultiTensorFunction<Function>
    {
        public override string Name => nameof(GradientCheckpoint);

        public override List<Tensor> forward(torch.autograd.AutogradContext ctx, params object[] vars)
        {
            var block = (Func<Tensor?[], Tensor[]>)vars[0];
            var inputs = vars.Skip(2).Select(v => v as Tensor).ToArray();
            ctx.save_data("block", block);
            ctx.save_for_backward(inputs.Select(t => t!).ToList());
            using (torch.no_grad()) return block(inputs).ToList();
        }

        public override List<Tensor> backward(torch.autograd.AutogradContext ctx, List<Tensor> grad_outputs)
        {
            var block = (Func<Tensor?[], Tensor[]>)ctx.get_data("block");
            Recomputed++;
            var saved = ctx.get_saved_variables();
            try
            {
                return Backward(block, saved, grad_outputs);
            }
            catch (Exception e)
            {
                failure ??= e;
                return [.. Enumerable.Repeat<Tensor>(null!, saved.Count + 2)];
            }
            finally
            {
                foreach (var s in saved) s?.Dispose();
            }
        }

        private static List<Tensor> Backward(Func<Tensor?[], Tensor[]> block, List<Tensor> saved, List<Tensor> grad_outputs)
        {
            var inputs = new Tensor?[saved.Count];
            List<Tensor> grads;
            using (var scope = torch.NewDisposeScope())
            {
                for (var i = 0; i < saved.Count; i++)
                    inputs[i] = saved[i] is { IsInvalid: false } s ? s.detach().requires_grad_(s.requires_grad) : null;
                Tensor[] outputs;
                using (torch.enable_grad()) outputs = block(inputs);
                var pairs = outputs.Zip(grad_outputs).Where(p => p.First.requires_grad && p.Second is { IsInvalid: false }).ToList();
                if (pairs.Count > 0)
                    torch.autograd.backward(pairs.Select(p => p.First).ToList(), pairs.Select(p => p.Second).ToList());
                grads = inputs.Select(t => t is { requires_grad: true } ? t.grad : null).Select(g => g?.MoveToOuterDisposeScope()).ToList()!;
            }
            var result = new List<Tensor> { null!, null! };
            result.AddRange(grads);
            return result;
        }
    }
}

/// <summary>A block that can recompute itself in backward (<see cref="GradientCheckpoint"/>).</summary>
public interface ICheckpointable
{
    /// <summary>Whether the block checkpoints itself while autograd records.</summary>
    bool gradient_checkpointing { get; set; }
}

/// <summary>Switches gradient checkpointing of every block of a model (diffusers' enable_gradient_checkpointing).</summary>
public static class GradientCheckpointing
{
    /// <summary>Sets <see cref="ICheckpointable.gradient_checkpointing"/> on every block of <paramref name="model"/>;
    /// returns how many blocks there are.</summary>
    public static int Set(TorchSharp.torch.nn.Module model, bool enabled)
    {
        ArgumentNullException.ThrowIfNull(model);
        var blocks = model.modules().OfType<ICheckpointable>().ToList();
        foreach (var b in blocks) b.gradient_checkpointing = enabled;
        return blocks.Count;
    }
}
