using System.Diagnostics;
using System.Globalization;
using TLoRA.Engine.Adapters;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// Per adapter projection, forward + backward, in "model calls" of several projections (a new rank mask set before each
// call, as the trainer does): LoRA, and Vanilla T-LoRA and T-LoRA with a mask that keeps the first K of r components,
// each computed two ways: multiplying activations by the mask, and taking only the first K components of the weights
// (what the engine does when every row of the mask keeps the same K, RankMaskContext.ActiveRank). Alternating in one
// process. Usage: dotnet run -c Release --project bench/Adapter.Bench -- [--threads N] [--reps R] [--iters N]
// [--per-shape K] [--rank R] [--active K] [--shapes TOKENSxWIDTH,...]
var threads = 1; var reps = 41; var iters = 4; var perShape = 8; var rank = 16; var active = 12;
// default: 2 × {256 × 80, 64 × 160, 77 × 256} tokens × width (batch 2, mask [2, rank]), perShape layers of each
(long Tokens, long Width)[] shapes = [(256, 80), (64, 160), (77, 256)];
for (var i = 0; i < args.Length; i++)
    switch (args[i])
    {
        case "--threads": threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--reps": reps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--iters": iters = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--per-shape": perShape = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--rank": rank = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--active": active = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--shapes":
            shapes = args[++i].Split(',').Select(t => t.Split('x')).Select(t => (long.Parse(t[0], CultureInfo.InvariantCulture),
                long.Parse(t[1], CultureInfo.InvariantCulture))).ToArray();
            break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
torch.set_num_threads(threads);
if (active < 1 || active > rank) { Console.Error.WriteLine($"--active must be in 1..{rank}"); return 2; }
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
for (var j = 0; j < 2 * rank; j++) maskValues[j] = j % rank < active ? 1 : 0;
using var mask = torch.tensor(maskValues, 2, rank);
using var context = new RankMaskContext();
var lora2 = dims.Select(s => new LoRALinearLayer(s.Width, s.Width, 2 * rank, gen)).ToArray();

// one model call: a new mask in the context (as SetTimesteps does), every projection, one backward
void Call(Func<int, Tensor> delta)
{
    context.Set(mask.clone(), active);
    using var scope = torch.NewDisposeScope();
    var loss = delta(0).square().sum();
    for (var k = 1; k < dims.Length; k++) loss = loss + delta(k).square().sum();
    loss.backward();
}
void ZeroGrads()
{
    foreach (var p in lora.SelectMany(l => l.parameters()).Concat(tlora.SelectMany(l => l.parameters()))
                 .Concat(lora2.SelectMany(l => l.parameters())).Concat(xs))
        p.grad?.zero_();
}
var variants = new (string Name, Action Body)[]
{
    ("LoRA", () => Call(k => lora[k].forward(xs[k], null))),
    ("Vanilla, mask multiplied", () => Call(k => lora[k].forward(xs[k], context.Current))),
    ("Vanilla, first K (engine)", () => Call(k => lora[k].ForwardWith(xs[k], context))),
    ("T-LoRA, mask multiplied", () => Call(k => tlora[k].forward(xs[k], context.Current))),
    ("T-LoRA, first K (engine)", () => Call(k => tlora[k].ForwardWith(xs[k], context))),
    // diagnostic: LoRA at rank 2r (T-LoRA's activation path is 2r wide when nothing is masked)
    ("diag: LoRA at rank 2r", () => Call(k => lora2[k].forward(xs[k], null))),
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
Console.WriteLine($"µs per projection (forward + backward), shapes {string.Join(", ", shapes.Select(s => $"{s.Tokens}×{s.Width}"))}, rank {rank}, K = {active} active, {threads} thread(s), {reps} reps × " +
    $"{iters} model calls × {dims.Length} projections ({perShape} per shape), alternating");
Console.WriteLine($"{"variant",-27} {"min",8} {"median",8} {"min/LoRA",9} {"med/LoRA",9}");
double Median(List<double> t) { var s = t.Order().ToList(); return s[s.Count / 2]; }
for (var v = 0; v < variants.Length; v++)
    Console.WriteLine($"{variants[v].Name,-27} {times[v].Min(),8:F1} {Median(times[v]),8:F1} {times[v].Min() / times[0].Min(),9:F3} {Median(times[v]) / Median(times[0]),9:F3}");
Console.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
foreach (var t in xs) t.Dispose();
return 0;
