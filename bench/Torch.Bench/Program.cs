using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;
using TLoRA.Torch.Bench;

// Dispatch-overhead benchmark: the same small workloads through this binding (C# → shim → libtorch) and through
// PyTorch (Python → libtorch), same libtorch, same thread count, median time per iteration after a warm-up.
// The C# and PyTorch repetitions of each workload alternate (see PythonPeer).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
Console.OutputEncoding = Encoding.UTF8;

var options = Options.Parse(args, out var exitCode);
if (options is null) return exitCode;

torch.set_num_threads(options.Threads);
using var workloads = new Workloads();

bool Selected(Workload w) => options.Only.Count == 0 || options.Only.Contains(w.Name);
var unknown = options.Only.Where(n => !workloads.Compared.Concat(workloads.Breakdown).Any(w => w.Name == n)).ToList();
if (unknown.Count > 0)
{
    Console.Error.WriteLine($"error: unknown workload(s) {string.Join(", ", unknown)}");
    return 2;
}
var compared = workloads.Compared.Where(Selected).ToList();
var breakdown = options.NoBreakdown ? [] : workloads.Breakdown.Where(Selected).ToList();

// ---- header ----
var build = "Release";
#if DEBUG
build = "Debug (timings are not representative: use -c Release)";
#endif
Console.WriteLine("Dispatch-overhead benchmark: C# (TorchSharp) vs PyTorch");
Console.WriteLine($"  libtorch     {TLoRA.Engine.TorchRuntime.LibTorchVersion} (TorchSharp {typeof(torch).Assembly.GetName().Version})");
Console.WriteLine($"  threads      {torch.get_num_threads()} (torch.set_num_threads({options.Threads}) in both languages)");
Console.WriteLine($"  cores        {Environment.ProcessorCount} (Environment.ProcessorCount){CpuModel()}");
Console.WriteLine($"  runtime      {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, {build} build");
Console.WriteLine($"  iterations   scale {options.EffectiveScale:0.###}{(options.Quick && options.Scale is null ? " (--quick)" : "")}, " +
                  $"{options.EffectiveReps} timed repetitions per workload (median shown), " +
                  $"warm-up = iterations/10 and ≥ {options.WarmupSeconds:0.###} s, {options.PauseMs} ms pause before each repetition");
var tuning = Environment.GetEnvironmentVariables().Keys.Cast<string>()
    .Where(k => k is "LD_PRELOAD" or "TLORA_NUM_THREADS" || k.StartsWith("GOMP_", StringComparison.Ordinal) ||
                new[] { "OMP_", "OPENBLAS_", "GOTO_", "MKL_", "MALLOC_" }.Any(p => k.StartsWith(p, StringComparison.Ordinal)))
    .Order(StringComparer.Ordinal).Select(k => $"{k}={Environment.GetEnvironmentVariable(k)}").ToList();
Console.WriteLine($"  environment  {(tuning.Count == 0 ? "no OMP_/GOMP_/OPENBLAS_/MKL_/MALLOC_/LD_PRELOAD settings" : string.Join(" ", tuning))}" +
                  " (inherited by the PyTorch process)");

// ---- PyTorch peer ----
PythonPeer? py = null;
string? pyProblem;
if (options.NoPython) pyProblem = "skipped (--no-python)";
else if (PythonPeer.LocateScript(options.PythonScript) is not { } script)
    pyProblem = options.PythonScript is null
        ? "bench/python/dispatch_bench.py not found (walked up from the binary and the working directory); pass --python-script"
        : $"--python-script {options.PythonScript} does not exist";
else
{
    py = PythonPeer.Start(options.PythonExe, script, options.Threads, out pyProblem);
    if (py is not null)
        Console.WriteLine($"  PyTorch      {py.TorchVersion}, Python {py.PythonVersion}: {options.PythonExe} " +
                          $"{Path.GetRelativePath(Directory.GetCurrentDirectory(), script)} --json --serve --threads {options.Threads}");
}
if (py is null) Console.WriteLine($"  PyTorch      not available: {pyProblem}");
Console.WriteLine();

// ---- measure: C# and PyTorch repetitions alternate ----
var load = new LoadMonitor();
load.Start(py?.CpuTicks() ?? 0);
var baselineLive = TLoRA.Engine.TorchRuntime.LiveTensors;
// One-off JIT pre-warm: the shared call path (operators, Tensor wrapping, dispose scopes) is promoted to the optimised
// JIT tier only ~0.1 s after it was last compiled at tier 0, longer than a --quick warm-up; get it there first.
var jit = Stopwatch.StartNew();
while (jit.Elapsed.TotalSeconds < 0.3)
    foreach (var w in workloads.Compared.Concat(workloads.Breakdown).Where(w => w.DefaultIters >= 10_000))
        w.Run(200);
var results = new Dictionary<string, Result>();
Console.Write("running: ");
foreach (var w in compared.Concat(breakdown))
{
    Console.Write($"{w.Name} ");
    var iters = options.ItersFor(w);
    var peer = py is { Alive: true } && w.PythonName is not null ? py : null;

    GC.Collect();
    GC.WaitForPendingFinalizers();
    var live = new List<long> { TLoRA.Engine.TorchRuntime.LiveTensors };
    // Warm-up (untimed): JIT tiering, allocator caches, libtorch lazy init; at least iterations/10 and WarmupSeconds.
    var warm = Stopwatch.StartNew();
    do w.Run(Math.Max(1, iters / 10)); while (warm.Elapsed.TotalSeconds < options.WarmupSeconds);
    peer?.Warmup(w.PythonName!, iters, options.WarmupSeconds);

    var cs = new List<double>();
    var pyTimes = new List<double>();
    var gen0 = GC.CollectionCount(0);
    var bytes0 = GC.GetAllocatedBytesForCurrentThread();
    for (var r = 0; r < options.EffectiveReps; r++)
    {
        // The pauses let the other process's idle worker threads (OpenBLAS spins ~0.1 s after a call) stop spinning.
        if (peer is not null) Thread.Sleep(options.PauseMs);
        var sw = Stopwatch.StartNew();
        w.Run(iters);
        sw.Stop();
        cs.Add(sw.Elapsed.TotalMicroseconds / iters);
        live.Add(TLoRA.Engine.TorchRuntime.LiveTensors);
        if (peer is null) continue;
        Thread.Sleep(options.PauseMs);
        if (peer.Rep(w.PythonName!, iters) is { } us) pyTimes.Add(us);
    }
    var bytesPerIter = (GC.GetAllocatedBytesForCurrentThread() - bytes0) / (double)(iters * (long)options.EffectiveReps);
    results[w.Name] = new Result(Timing.Of(iters, cs), pyTimes.Count == cs.Count ? Timing.Of(iters, pyTimes) : null,
        live.ToArray(), bytesPerIter, GC.CollectionCount(0) - gen0);
}
Console.WriteLine("done.");
var otherCores = load.OtherCores(py?.CpuTicks() ?? 0);
var pyStatus = py is null ? pyProblem : py.Problem;
py?.Dispose();
Console.WriteLine();

// ---- main table ----
var pyHeader = py is not null ? $"PyTorch {py.TorchVersion} (python3-torch)" : "PyTorch (python3-torch)";
var rows = new List<string[]> { new[] { "workload", "C# (this binding)", pyHeader, "ratio C#/Py" } };
foreach (var w in compared)
{
    var (cs, p, _, _, _) = results[w.Name];
    rows.Add([
        $"{w.Label} ({UnitName(w.Unit)})",
        Cell(w, cs),
        p is null ? "not run" : Cell(w, p),
        p is null ? "-" : $"{cs.MedianUs / p.MedianUs:0.00}",
    ]);
}
PrintTable(rows, rightAligned: [false, true, true, true]);
if (py is null)
    Console.WriteLine($"PyTorch was not found, so there is no comparison: {pyStatus}");
else if (pyStatus is not null)
    Console.WriteLine($"warning: the PyTorch run stopped part-way: {pyStatus}");
else if (py.Threads != options.Threads)
    Console.WriteLine($"warning: the PyTorch process reports {py.Threads} threads, not {options.Threads}");
Console.WriteLine("ratio = C# median / PyTorch median: below 1 the binding is faster, above 1 slower.");
if (otherCores is { } oc)
{
    Console.WriteLine($"background load: other processes kept {oc:0.00} of {Environment.ProcessorCount} cores busy on average during the run" +
                      (oc > 0.1 * Environment.ProcessorCount
                          ? " — too much for trustworthy numbers (multi-threaded rows suffer most); rerun on an idle machine."
                          : " (quiet enough)."));
}

// ---- details ----
Console.WriteLine();
Console.WriteLine("Details: µs per iteration, median [min–max] over the repetitions; live = TLoRA.Engine.TorchRuntime.LiveTensors before the warm-up →");
Console.WriteLine($"after each timed repetition ({baselineLive} = the benchmark's inputs); C# managed bytes allocated per iteration; gen0 GCs.");
var details = new List<string[]> { new[] { "workload", "iters×reps", "C# µs", "PyTorch µs", "C# live tensors", "bytes/iter", "gen0 GCs" } };
foreach (var w in compared.Concat(breakdown))
{
    var (cs, p, live, bytes, gen0) = results[w.Name];
    details.Add([
        w.Name,
        $"{cs.Iters}×{cs.Reps}",
        Spread(cs),
        p is null ? "-" : Spread(p),
        $"{live[0]} → {string.Join(" ", live.Skip(1))}",
        $"{bytes:0}",
        gen0.ToString(CultureInfo.InvariantCulture),
    ]);
}
PrintTable(details, rightAligned: [false, true, true, true, false, true, true]);
var leaked = results.Where(kv => kv.Value.Live.Any(l => l != baselineLive)).Select(kv => kv.Key).ToList();
var endLive = TLoRA.Engine.TorchRuntime.LiveTensors;
Console.WriteLine(leaked.Count == 0 && endLive == baselineLive
    ? $"live tensor count flat: {baselineLive} before and after every repetition of every workload."
    : $"warning: the live tensor count moved in {string.Join(", ", leaked)} (baseline {baselineLive}, now {endLive}): a tensor was not disposed.");

if (breakdown.Count > 0)
{
    Console.WriteLine();
    Console.WriteLine("C#-only breakdown of the per-op cost (compare with `add 8×8` above):");
    var bd = new List<string[]> { new[] { "variant", "C# median" } };
    foreach (var w in breakdown) bd.Add([w.Label, Cell(w, results[w.Name].CSharp)]);
    PrintTable(bd, rightAligned: [false, true]);
}
return leaked.Count == 0 ? 0 : 1;

// ---------------------------------------------------------------------------------------------------------------------

static string UnitName(Unit u) => u switch
{
    Unit.MicrosecondsPerOp => "µs/op",
    Unit.MicrosecondsPerPair => "µs/pair",
    Unit.MicrosecondsPerStep => "µs/step",
    Unit.MillisecondsPerOp => "ms/op",
    Unit.MicrosecondsPerCall => "µs/call",
    _ => u.ToString(),
};

static string Num(double v) => v switch { < 1 => $"{v:0.000}", < 10 => $"{v:0.00}", < 100 => $"{v:0.0}", _ => $"{v:0}" };

static string Cell(Workload w, Timing t)
{
    var time = w.Unit == Unit.MillisecondsPerOp ? $"{Num(t.MedianUs / 1000)} ms" : $"{Num(t.MedianUs)} µs";
    return w.FlopsPerIter > 0 ? $"{time}, {w.FlopsPerIter / (t.MedianUs * 1e3):0.0} GFLOP/s" : time;
}

static string Spread(Timing t) => $"{Num(t.MedianUs)} [{Num(t.MinUs)}–{Num(t.MaxUs)}]";

static void PrintTable(List<string[]> rows, bool[] rightAligned)
{
    var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
    string Line(string[] r) => string.Join(" | ", r.Select((s, c) => rightAligned[c] ? s.PadLeft(widths[c]) : s.PadRight(widths[c]))).TrimEnd();
    Console.WriteLine(Line(rows[0]));
    Console.WriteLine(string.Join("-+-", widths.Select(w => new string('-', w))));
    foreach (var r in rows.Skip(1)) Console.WriteLine(Line(r));
}

static string CpuModel()
{
    try
    {
        var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        return line is null ? "" : $", {line[(line.IndexOf(':') + 1)..].Trim()}";
    }
    catch (IOException) { return ""; }
    catch (UnauthorizedAccessException) { return ""; }
}

namespace TLoRA.Torch.Bench
{
    /// <summary>Timings of one workload in one language: microseconds per iteration.</summary>
    internal sealed record Timing(int Iters, int Reps, double MedianUs, double MinUs, double MaxUs)
    {
        public static Timing Of(int iters, IReadOnlyList<double> perIterUs)
        {
            var s = perIterUs.Order().ToArray();
            var n = s.Length;
            var median = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
            return new Timing(iters, n, median, s[0], s[^1]);
        }
    }

    internal sealed record Result(Timing CSharp, Timing? Python, long[] Live, double BytesPerIter, int Gen0);
}
