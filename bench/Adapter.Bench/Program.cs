using System.Diagnostics;
using System.Globalization;
using TLoRA.Engine.Adapters;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// Per adapter projection, forward + backward, in "model calls" of several projections (a new rank mask set before each
// call, as the trainer does): LoRA, T-LoRA as the engine computes it (the doubled mask shared by the call's
// projections) and in the issue-10b form (kept below as the reference), alternating in one process.
// Usage: dotnet run -c Release --project bench/Adapter.Bench -- [--threads N] [--reps R] [--iters N] [--per-shape K]
var threads = 1; var reps = 41; var iters = 4; var perShape = 8;
for (var i = 0; i < args.Length; i++)
    switch (args[i])
    {
        case "--threads": threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--reps": reps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--iters": iters = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--per-shape": perShape = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
torch.set_num_threads(threads);
const int rank = 16;
// 2 × {256 × 80, 64 × 160, 77 × 256} tokens × width (batch 2, mask [2, rank]), perShape layers of each
(long Tokens, long Width)[] shapes = [(256, 80), (64, 160), (77, 256)];
var dims = shapes.SelectMany(s => Enumerable.Repeat(s, perShape)).ToArray();
using var gen = new Generator(0);
var lora = dims.Select(s => new LoRALinearLayer(s.Width, s.Width, rank, gen)).ToArray();
var tlora = dims.Select(s => new OrthogonalLoRALinearLayer(s.Width, s.Width, rank, InitComponents.Last, gen)).ToArray();
// in-place initialisers hand back second wrappers of the weights: the scope disposes them
using (torch.NewDisposeScope())
using (torch.no_grad())
{
    foreach (var l in lora) l.up.weight.copy_(torch.randn(l.up.weight.shape, generator: gen) * 0.1);
    foreach (var l in tlora) l.q_layer.weight.add_(torch.randn(l.q_layer.weight.shape, generator: gen) * 0.01);
}
var xs = dims.Select(s => torch.randn([2, s.Tokens, s.Width], generator: gen).requires_grad_()).ToArray();
var maskValues = new float[2 * rank];
for (var j = 0; j < 2 * rank; j++) maskValues[j] = j % rank < (j < rank ? 10 : 13) ? 1 : 0;
using var mask = torch.tensor(maskValues, 2, rank);
using var context = new RankMaskContext();
var lora2 = dims.Select(s => new LoRALinearLayer(s.Width, s.Width, 2 * rank, gen)).ToArray();
using var mask2 = torch.cat([mask, mask], 1);
var prebuilt = tlora.Select(l =>
{
    using var noGrad = torch.no_grad();
    var q = torch.cat([l.q_layer.weight - l.base_q.weight, l.base_q.weight], 0).requires_grad_();
    var p = torch.cat([l.p_layer.weight, l.p_layer.weight], 1).requires_grad_();
    return (Q: q, P: p);
}).ToArray();

// one model call: a new mask in every context (as SetTimesteps does), every projection, one backward
void Call(Func<int, Tensor> delta)
{
    context.Set(mask.clone());
    using var scope = torch.NewDisposeScope();
    var loss = delta(0).square().sum();
    for (var k = 1; k < dims.Length; k++) loss = loss + delta(k).square().sum();
    loss.backward();
}
void ZeroGrads()
{
    foreach (var p in lora.SelectMany(l => l.parameters()).Concat(tlora.SelectMany(l => l.parameters()))
                 .Concat(lora2.SelectMany(l => l.parameters())).Concat(prebuilt.SelectMany(w => new[] { w.Q, w.P })).Concat(xs))
        p.grad?.zero_();
}
var variants = new (string Name, Action Body)[]
{
    ("LoRA", () => Call(k => lora[k].forward(xs[k], context.Current))),
    ("T-LoRA (issue-10b form)", () => Call(k => Issue10bForm(tlora[k], xs[k], context.Current))),
    ("T-LoRA (engine)", () => Call(k => tlora[k].ForwardWith(xs[k], context))),
    // diagnostics: T-LoRA's two matmuls alone (the combined weights prebuilt as leaves), and LoRA at rank 2r
    ("diag: T-LoRA matmuls only", () => Call(k => MatmulsOnly(prebuilt[k].Q, prebuilt[k].P, xs[k], context.Doubled(rank, 3, ScalarType.Float32)!))),
    ("diag: LoRA at rank 2r", () => Call(k => lora2[k].forward(xs[k], mask2))),
};
var times = variants.Select(_ => new List<double>()).ToArray();
foreach (var v in variants) for (var i = 0; i < iters; i++) v.Body(); // warm-up
for (var r = 0; r < reps; r++)
    for (var v = 0; v < variants.Length; v++)
    {
        ZeroGrads();
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < iters; i++) variants[v].Body();
        times[v].Add(sw.Elapsed.TotalMicroseconds / iters / dims.Length);
    }
context.Set(null);
Console.WriteLine($"µs per projection (forward + backward), rank {rank}, {threads} thread(s), {reps} reps × {iters} model calls × " +
    $"{dims.Length} projections ({perShape} per shape), alternating");
Console.WriteLine($"{"variant",-27} {"min",8} {"median",8} {"min/LoRA",9} {"med/LoRA",9}");
double Median(List<double> t) { var s = t.Order().ToList(); return s[s.Count / 2]; }
for (var v = 0; v < variants.Length; v++)
    Console.WriteLine($"{variants[v].Name,-27} {times[v].Min(),8:F1} {Median(times[v]),8:F1} {times[v].Min() / times[0].Min(),9:F3} {Median(times[v]) / Median(times[0]),9:F3}");
Console.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
foreach (var t in xs.Concat(prebuilt.SelectMany(w => new[] { w.Q, w.P }))) t.Dispose();
return 0;

static Tensor MatmulsOnly(Tensor q, Tensor p, Tensor x, Tensor mm)
{
    using var scope = torch.NewDisposeScope();
    return functional.linear(functional.linear(x, q) * mm, p).MoveToOuterDisposeScope();
}

// The issue-10b OrthogonalLoRALinearLayer.forward (doubled mask and combined weights built per projection): the "before".
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
