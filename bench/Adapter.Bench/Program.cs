using System.Diagnostics;
using System.Globalization;
using TLoRA.Engine.Adapters;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// Per adapter projection, forward + backward: LoRA, T-LoRA as the engine computes it, and T-LoRA in the issue-10b form
// (mask doubled per projection, kept below as the reference), the variants alternating in one process.
// Usage: dotnet run -c Release --project bench/Adapter.Bench -- [--threads N] [--reps R] [--iters N]
var threads = 1; var reps = 15; var iters = 40;
for (var i = 0; i < args.Length; i++)
    switch (args[i])
    {
        case "--threads": threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--reps": reps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--iters": iters = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
torch.set_num_threads(threads);
const int rank = 16;
// the README's shapes: 2 × {256 × 80, 64 × 160, 77 × 256} tokens × width (batch 2, mask [2, rank])
(long Tokens, long Width)[] shapes = [(256, 80), (64, 160), (77, 256)];
using var gen = new Generator(0);
var lora = shapes.Select(s => new LoRALinearLayer(s.Width, s.Width, rank, gen)).ToArray();
var tlora = shapes.Select(s => new OrthogonalLoRALinearLayer(s.Width, s.Width, rank, InitComponents.Last, gen)).ToArray();
// in-place initialisers hand back second wrappers of the weights: the scope disposes them
using (torch.NewDisposeScope())
using (torch.no_grad())
{
    foreach (var l in lora) l.up.weight.copy_(torch.randn(l.up.weight.shape, generator: gen) * 0.1);
    foreach (var l in tlora) l.q_layer.weight.add_(torch.randn(l.q_layer.weight.shape, generator: gen) * 0.01);
}
var xs = shapes.Select(s => torch.randn([2, s.Tokens, s.Width], generator: gen).requires_grad_()).ToArray();
var maskValues = new float[2 * rank];
for (var j = 0; j < 2 * rank; j++) maskValues[j] = j % rank < (j < rank ? 10 : 13) ? 1 : 0;
var lora2 = shapes.Select(s => new LoRALinearLayer(s.Width, s.Width, 2 * rank, gen)).ToArray();
var prebuilt = tlora.Select(l =>
{
    using var noGrad = torch.no_grad();
    var q = torch.cat([l.q_layer.weight - l.base_q.weight, l.base_q.weight], 0).requires_grad_();
    var p = torch.cat([l.p_layer.weight, l.p_layer.weight], 1).requires_grad_();
    return (Q: q, P: p);
}).ToArray();
using var context = new RankMaskContext();
context.Set(torch.tensor(maskValues, 2, rank));
var mask = context.Current!;
var mask2 = torch.cat([mask, mask], 1);

void Step(Func<int, Tensor> delta)
{
    for (var k = 0; k < shapes.Length; k++)
    {
        using var scope = torch.NewDisposeScope();
        delta(k).square().sum().backward();
    }
}
void ZeroGrads()
{
    foreach (var p in lora.SelectMany(l => l.parameters()).Concat(tlora.SelectMany(l => l.parameters())).Concat(xs))
        p.grad?.zero_();
}
var variants = new (string Name, Action Body)[]
{
    ("LoRA", () => Step(k => lora[k].forward(xs[k], mask))),
    ("T-LoRA (issue-10b form)", () => Step(k => Issue10bForm(tlora[k], xs[k], mask))),
    ("T-LoRA (engine)", () => Step(k => tlora[k].ForwardWith(xs[k], context))),
    // diagnostics: the two matmuls of T-LoRA with the combined [2r] weights as leaves (no per-call weight ops), and
    // LoRA at rank 2r (the same matmul sizes as T-LoRA)
    ("diag: T-LoRA matmuls only", () => Step(k => PrebuiltForm(prebuilt[k].Q, prebuilt[k].P, xs[k], context.Doubled(rank, 3, ScalarType.Float32)!))),
    ("diag: LoRA at rank 2r", () => Step(k => lora2[k].forward(xs[k], mask2))),
};
var times = variants.Select(_ => new List<double>()).ToArray();
foreach (var v in variants) for (var i = 0; i < iters; i++) v.Body(); // warm-up
for (var r = 0; r < reps; r++)
    for (var v = 0; v < variants.Length; v++)
    {
        ZeroGrads();
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < iters; i++) variants[v].Body();
        times[v].Add(sw.Elapsed.TotalMicroseconds / iters / shapes.Length);
    }
Console.WriteLine($"µs per projection (forward + backward), rank {rank}, {threads} thread(s), {reps} reps × {iters} iterations × {shapes.Length} shapes, alternating");
Console.WriteLine($"{"variant",-26} {"min",8} {"median",8} {"min/LoRA",9} {"med/LoRA",9}");
double Median(List<double> t) { var s = t.Order().ToList(); return s[s.Count / 2]; }
for (var v = 0; v < variants.Length; v++)
    Console.WriteLine($"{variants[v].Name,-26} {times[v].Min(),8:F1} {Median(times[v]),8:F1} {times[v].Min() / times[0].Min(),9:F3} {Median(times[v]) / Median(times[0]),9:F3}");
Console.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
return 0;

static Tensor PrebuiltForm(Tensor q, Tensor p, Tensor x, Tensor mm)
{
    using var scope = torch.NewDisposeScope();
    return functional.linear(functional.linear(x, q) * mm, p).MoveToOuterDisposeScope();
}

// The issue-10b OrthogonalLoRALinearLayer.forward (doubled mask built per projection), the "before" of this bench.
static Tensor Issue10bForm(OrthogonalLoRALinearLayer l, Tensor x, Tensor? mask)
{
    using var scope = torch.NewDisposeScope();
    var r = l.rank;
    var h = x.dtype == l.q_layer.weight.dtype ? x : x.to(l.q_layer.weight.dtype);
    var q = torch.cat([l.q_layer.weight.sub(l.base_q.weight), l.base_q.weight], 0);
    var pl = l.p_layer.weight * l.lambda_layer;
    var p = torch.cat([pl, pl.sub(l.base_p.weight * l.base_lambda)], 1);
    var z = functional.linear(h, q);
    if (mask is not null)
    {
        var m = mask.size(1) == r ? mask : mask.narrow(1, 0, r);
        m = m.dtype == z.dtype ? m : m.to(z.dtype);
        var shape = new long[z.dim()];
        Array.Fill(shape, 1L);
        shape[0] = m.size(0);
        shape[^1] = 2 * r;
        z = z * torch.cat([m, m], 1).view(shape);
    }
    return functional.linear(z, p).to(x.dtype).MoveToOuterDisposeScope();
}
