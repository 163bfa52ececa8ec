using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TLoRA.Torch.Bench;

/// <summary>How a workload's time is shown.</summary>
internal enum Unit { MicrosecondsPerOp, MicrosecondsPerPair, MicrosecondsPerStep, MillisecondsPerOp, MicrosecondsPerCall }

/// <summary>One timed workload: <see cref="Run"/> executes its body <c>n</c> times. <see cref="PythonName"/> is the
/// key of the same workload in bench/python/dispatch_bench.py (null for C#-only diagnostics).</summary>
internal sealed record Workload(string Name, string Label, int DefaultIters, Unit Unit, double FlopsPerIter,
    Action<int> Run, string? PythonName);

/// <summary>
/// The workloads. Shapes, bodies and default iteration counts must match DEFAULT_ITERS / build_workloads in
/// bench/python/dispatch_bench.py. Inputs are created once, outside every dispose scope, and freed by <see cref="Dispose"/>;
/// every tensor made inside a timed loop is freed by a per-iteration dispose scope.
/// </summary>
internal sealed class Workloads : IDisposable
{
    private readonly List<Tensor> inputs = [];
    private readonly List<IDisposable> modules = [];

    public IReadOnlyList<Workload> Compared { get; }
    /// <summary>C#-only variants that split the per-op cost into its parts.</summary>
    public IReadOnlyList<Workload> Breakdown { get; }

    public Workloads()
    {
        using var gen = new Generator(0);
        Tensor Input(params long[] shape) { var t = torch.randn(shape, generator: gen); inputs.Add(t); return t; }

        var x8 = Input(8, 8);
        var y8 = Input(8, 8);
        var a = Input(256, 512);
        var b = Input(512, 128);
        var convIn = Input(1, 64, 64, 64);
        var convW = Input(64, 64, 3, 3);
        var x = Input(64, 64);
        var w = Input(64, 64).requires_grad_();
        var m = Input(256, 256);
        var q = Input(1, 8, 256, 64);
        // one adapted attention projection of the bench's mid UNet (80 wide, 16×16 tokens, rank 16, 12 ranks unmasked)
        var xp = Input(1, 256, 80);
        var wp = Input(80, 80);
        var mask = torch.cat([torch.ones(1, 12), torch.zeros(1, 4)], 1);
        inputs.Add(mask);
        var lora = new TLoRA.Engine.Adapters.LoRALinearLayer(80, 80, 16, gen);
        var tlora = new TLoRA.Engine.Adapters.OrthogonalLoRALinearLayer(80, 80, 16, generator: gen);
        modules.Add(lora);
        modules.Add(tlora);
        Action<int> Projection(Func<Tensor, Tensor?, Tensor> delta, IReadOnlyList<TorchSharp.Modules.Parameter> trained) => n =>
        {
            for (var i = 0; i < n; i++)
            {
                using var s = torch.NewDisposeScope();
                var y = functional.linear(xp, wp) + delta(xp, mask);
                y.sum().backward();
                foreach (var p in trained) p.grad = null;
            }
        };
        var loraParams = lora.parameters().Where(p => p.requires_grad).ToList();
        var tloraParams = tlora.parameters().Where(p => p.requires_grad).ToList();

        Compared =
        [
            new("add", "add 8×8", 100_000, Unit.MicrosecondsPerOp, 0, n =>
            {
                for (var i = 0; i < n; i++) { using var s = torch.NewDisposeScope(); _ = x8 + y8; }
            }, "add"),
            new("mul", "mul 8×8", 100_000, Unit.MicrosecondsPerOp, 0, n =>
            {
                for (var i = 0; i < n; i++) { using var s = torch.NewDisposeScope(); _ = x8 * y8; }
            }, "mul"),
            new("silu", "silu 8×8", 100_000, Unit.MicrosecondsPerOp, 0, n =>
            {
                for (var i = 0; i < n; i++) { using var s = torch.NewDisposeScope(); _ = functional.silu(x8); }
            }, "silu"),
            new("view_permute", "view+permute 8×8 (2 ops)", 100_000, Unit.MicrosecondsPerPair, 0, n =>
            {
                for (var i = 0; i < n; i++) { using var s = torch.NewDisposeScope(); _ = x8.view(2, 4, 8).permute(0, 2, 1); }
            }, "view_permute"),
            new("dim", "x.dim() (call floor)", 200_000, Unit.MicrosecondsPerCall, 0, n =>
            {
                var d = 0L;
                for (var i = 0; i < n; i++) d += x8.dim();
                GC.KeepAlive(d);
            }, "dim"),
            new("matmul", "matmul 256×512 @ 512×128", 1_000, Unit.MicrosecondsPerOp, 2.0 * 256 * 512 * 128, n =>
            {
                for (var i = 0; i < n; i++) { using var s = torch.NewDisposeScope(); _ = a.matmul(b); }
            }, "matmul"),
            new("conv2d", "conv2d 1×64×64×64, 64×64×3×3, pad 1", 150, Unit.MillisecondsPerOp, 2.0 * 64 * 64 * 64 * 64 * 9, n =>
            {
                for (var i = 0; i < n; i++) { using var s = torch.NewDisposeScope(); _ = functional.conv2d(convIn, convW, null, padding: [1, 1]); }
            }, "conv2d"),
            new("autograd", "silu(x@w).sum().backward() 64×64", 10_000, Unit.MicrosecondsPerStep, 0, n =>
            {
                for (var i = 0; i < n; i++)
                {
                    using var s = torch.NewDisposeScope();
                    var y = functional.silu(x.matmul(w)).sum();
                    y.backward();
                    w.grad = null;
                }
            }, "autograd"),
            new("svd", "linalg.svd 256×256 (reduced)", 30, Unit.MillisecondsPerOp, 0, n =>
            {
                for (var i = 0; i < n; i++) { using var s = torch.NewDisposeScope(); _ = torch.linalg.svd(m, fullMatrices: false); }
            }, "svd"),
            new("lora_proj", "masked LoRA projection fwd+bwd 1×256×80, r 16", 2_000, Unit.MicrosecondsPerStep, 0,
                Projection(lora.forward, loraParams), "lora_proj"),
            new("tlora_proj", "T-LoRA projection (stacked) fwd+bwd 1×256×80, r 16", 2_000, Unit.MicrosecondsPerStep, 0,
                Projection(tlora.forward, tloraParams), "tlora_proj"),
        ];

        Breakdown =
        [
            new("sdpa", "scaled_dot_product_attention 1×8×256×64 (PyTorch 1.13 has none)", 300, Unit.MicrosecondsPerOp,
                4.0 * 8 * 256 * 256 * 64, n =>
            {
                for (var i = 0; i < n; i++) { using var s = torch.NewDisposeScope(); _ = functional.scaled_dot_product_attention(q, q, q); }
            }, null),
            new("add_using", "add 8×8, `using var` instead of a scope", 100_000, Unit.MicrosecondsPerOp, 0, n =>
            {
                for (var i = 0; i < n; i++) { using var z = x8 + y8; }
            }, null),
            new("add_nofree", "add 8×8, freed in batches of 1000 (one scope per batch)", 100_000, Unit.MicrosecondsPerOp, 0, n =>
            {
                for (var i = 0; i < n;)
                {
                    using var s = torch.NewDisposeScope();
                    for (var k = 0; k < 1000 && i < n; k++, i++) _ = x8 + y8;
                }
            }, null),
            new("scope", "empty dispose scope (new + Dispose)", 200_000, Unit.MicrosecondsPerCall, 0, n =>
            {
                for (var i = 0; i < n; i++) { using var s = torch.NewDisposeScope(); }
            }, null),
        ];
    }

    public void Dispose()
    {
        foreach (var t in inputs) t.Dispose();
        inputs.Clear();
        foreach (var m in modules) m.Dispose();
        modules.Clear();
    }
}
