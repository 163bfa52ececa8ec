using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using TLoRA.Engine.Adapters;
using TLoRA.Engine.Bench;
using TorchSharp;
using static TorchSharp.torch;

// Engine benchmark: T-LoRA training-step time, memory and sampling-step time on two SD-XL-shaped UNets, each
// (config, method) case in a fresh child process (this program with --case ...) so that its peak RSS is its own.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
Console.OutputEncoding = Encoding.UTF8;

const string ResultMarker = "@@engine-bench-result ";
var json = new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

var options = Options.Parse(args, out var exitCode);
if (options is null) return exitCode;
torch.set_num_threads(options.Threads);
Device device;
try
{
    device = options.Device;
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"error: --device {options.DeviceText}: {e.Message}");
    return 2;
}

// ---- --load: model loading before/after, in this process ----
if (options.LoadOnly) return LoadBench.Run(options);
if (options.AdapterConfig is not null) return AdapterBench.Run(options);

// ---- child: one case, one JSON line ----
if (options.IsChild)
{
    // TLORA_GC_STRESS=1: a thread collects garbage and runs finalizers all the time, as a background GC may at any
    // moment (how the NaN of mid-size training was found: a number handed to libtorch freed mid-op; README)
    if (Environment.GetEnvironmentVariable("TLORA_GC_STRESS") == "1")
        new Thread(() => { while (true) { GC.Collect(); GC.WaitForPendingFinalizers(); Thread.Sleep(1); } }) { IsBackground = true }.Start();
    try
    {
        object result = options.Method is { } method ? Cases.Train(options, options.Case!, method) : Cases.Sample(options, options.Case!);
        Console.WriteLine(ResultMarker + JsonSerializer.Serialize(result, result.GetType(), json));
        return 0;
    }
    catch (Exception e)
    {
        Console.Error.WriteLine($"{options.Case} {(options.Method?.ToString() ?? "sample")}: {e}");
        return 1;
    }
}

// ---- parent: header ----
var build = "Release";
#if DEBUG
build = "Debug (timings are not representative: use -c Release)";
#endif
var configs = options.SelectedConfigs.ToList();
Console.WriteLine("TLoRA.Engine benchmark: adapter training steps and sampling on SD-XL-shaped UNets (src/Engine on TorchSharp)");
Console.WriteLine($"  libtorch     {TLoRA.Engine.TorchRuntime.LibTorchVersion} through TorchSharp {typeof(torch).Assembly.GetName().Version} " +
                  $"({TLoRA.Engine.TorchRuntime.Backend} build); attention: libtorch's fused scaled_dot_product_attention");
Console.WriteLine($"  threads      {torch.get_num_threads()} (torch.set_num_threads({options.Threads}) in every case process)");
Console.WriteLine($"  cores        {Environment.ProcessorCount} (Environment.ProcessorCount){CpuModel()}");
Console.WriteLine($"  runtime      {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, {build} build");
Console.WriteLine($"  device       {options.Device}, frozen weights {options.Dtype.ToString().ToLowerInvariant()}; adapters and AdamW state float32");
var tuning = Environment.GetEnvironmentVariables().Keys.Cast<string>()
    .Where(k => k is "LD_PRELOAD" or "TLORA_NUM_THREADS" or "TLORA_MALLOC_TUNE" || k.StartsWith("GOMP_", StringComparison.Ordinal) ||
                new[] { "OMP_", "OPENBLAS_", "GOTO_", "MKL_", "MALLOC_" }.Any(p => k.StartsWith(p, StringComparison.Ordinal)))
    .Order(StringComparer.Ordinal).Select(k => $"{k}={Environment.GetEnvironmentVariable(k)}").ToList();
Console.WriteLine($"  environment  {(tuning.Count == 0 ? "no OMP_/GOMP_/OPENBLAS_/MKL_/MALLOC_/TLORA_/LD_PRELOAD settings" : string.Join(" ", tuning))}");
Console.WriteLine("  OpenBLAS     " + (options.BlasThreads is { } bt
    ? $"OPENBLAS_NUM_THREADS={bt} for the case processes (--blas-threads)"
    : Environment.GetEnvironmentVariable("OPENBLAS_NUM_THREADS") is { } obt
        ? $"OPENBLAS_NUM_THREADS={obt} (inherited)"
        : $"OPENBLAS_NUM_THREADS unset: OpenBLAS (matmuls) runs its own pool of {Environment.ProcessorCount} threads beside libtorch's {options.Threads} OpenMP threads"));
foreach (var c in configs)
    Console.WriteLine($"  {c,-4} runs   training {options.StepsFor(c)} timed steps per method in {options.RoundsFor(c)} process(es) " +
                      $"({options.StepsPerProcess(c)} each, after {options.WarmupFor(c)} warm-up steps); sampling {options.SampleStepsFor(c)} steps per call, " +
                      $"1 short warm-up + {options.SampleRepsFor(c)} timed calls per variant" + (options.Quick ? " (--quick)" : ""));
Console.WriteLine();

// ---- parent: run the cases, each in a fresh process ----
var trainRuns = new List<TrainResult>();
var sample = new List<SampleResult>();
var failures = new List<string>();
var python = new List<PythonMidResult>();
var pythonNotes = new List<string>();
var totalLoad = LoadMonitor.Start();
var clock = Stopwatch.StartNew();
Console.WriteLine("running (each case in a fresh process):");
foreach (var c in configs)
{
    if (!options.NoTrain)
        for (var round = 0; round < options.RoundsFor(c); round++)
            foreach (var m in round % 2 == 0 ? Options.Methods : Options.Methods.Reverse())
                foreach (var ckpt in options.CheckpointingModes)
                    if (RunChild<TrainResult>(options.ChildArgs(c, m, ckpt), $"{c} {Label(m)}{(ckpt ? " +ckpt" : "")} training" + (options.RoundsFor(c) > 1 ? $" ({round + 1}/{options.RoundsFor(c)})" : "")) is ({ } r, var rOther))
                        trainRuns.Add(r with { OtherCores = rOther });
    if (!options.NoSample && RunChild<SampleResult>(options.ChildArgs(c, null), $"{c} sampling (none, LoRA, T-LoRA)") is ({ } s, var sOther))
        sample.Add(s with { OtherCores = sOther });
    if (PythonMid.ScriptName(c) is { } scriptName && !options.NoTrain && !options.NoPython && options.Device.type == DeviceType.CPU)
    {
        if (PythonMid.FindScript(scriptName) is not { } script) pythonNotes.Add($"{c}: bench/python/{scriptName} not found");
        else
            foreach (var m in Options.Methods)
            {
                Console.Write($"  {$"{c} {Label(m)} training, PyTorch",-40} ");
                var sw = Stopwatch.StartNew();
                var (py, why) = PythonMid.Run(options.Python, script, m.ToString(), options.RankFor(c), options.StepsFor(c), options.WarmupFor(c), options.Threads);
                Console.WriteLine(py is null ? $"not run ({why})" : $"{sw.Elapsed.TotalSeconds,5:0.0} s");
                if (py is not null) python.Add(py with { Config = c });
                else pythonNotes.Add($"{c} {Label(m)}: {why}");
            }
    }
}
var background = totalLoad.OtherCores();
Console.WriteLine($"done in {clock.Elapsed.TotalSeconds:0} s.");
Console.WriteLine();

// One row per (config, method): the processes' timed steps pooled, memory the largest of them, live counts of the first.
var train = trainRuns.GroupBy(r => (r.Config, r.Method, r.Checkpointing)).Select(g => g.ToList())
    .OrderBy(g => configs.IndexOf(g[0].Config)).ThenBy(g => Array.IndexOf(Options.Methods, Enum.Parse<AdapterMethod>(g[0].Method)))
    .ThenBy(g => g[0].Checkpointing)
    .Select(g => g[0] with
    {
        StepMs = g.SelectMany(r => r.StepMs).ToArray(), LossMs = g.SelectMany(r => r.LossMs).ToArray(),
        BackwardMs = g.SelectMany(r => r.BackwardMs).ToArray(), OptimizerMs = g.SelectMany(r => r.OptimizerMs).ToArray(),
        FirstStepMs = g.Max(r => r.FirstStepMs), RssLoadedMiB = g.Max(r => r.RssLoadedMiB), PeakLoadMiB = g.Max(r => r.PeakLoadMiB),
        RssAttachedMiB = g.Max(r => r.RssAttachedMiB), RssEndMiB = g.Max(r => r.RssEndMiB), PeakTrainMiB = g.Max(r => r.PeakTrainMiB),
        CudaPeakOverLoadedMiB = g.Max(r => r.CudaPeakOverLoadedMiB),
        PeakReset = g.All(r => r.PeakReset), Flat = g.All(r => r.Flat), Leaked = g.Any(r => r.Leaked),
        LiveFinalizedAfterLoad = g.Max(r => r.LiveFinalizedAfterLoad), Processes = g.Count, OtherCores = g.Max(r => r.OtherCores),
    }).ToList();

// ---- 1. training ----
if (train.Count > 0)
{
    Console.WriteLine("1. Training step = pipeline.TrainingLoss (DDPM add_noise at a uniform t, rank mask for t, UNet forward, MSE) + backward");
    Console.WriteLine("   + clip_grad_norm_(1) + AdamW step + zero_grad, as AdapterTrainer.Run. ms: median [min–max] of the timed steps.");
    foreach (var c in configs)
    {
        var first = train.FirstOrDefault(r => r.Config == c);
        if (first is null) continue;
        Console.WriteLine($"   {c}: {Describe(c, first.Model, first.Resolution, first.UnetParameters)}");
    }
    var rows = new List<string[]>
    {
        new[] { "config", "method", "rank (r_min)", "adapted attn", "trainable params", "ms/step", "steps/s", "loss fwd ms", "backward ms", "clip+AdamW ms", "1st step ms" },
    };
    foreach (var r in train)
    {
        var step = Stats.Of(r.StepMs);
        rows.Add([
            r.Config, RowLabel(r), $"{r.Rank} ({r.MinRank})", $"{r.AdaptedAttentions}", r.TrainableParameters.ToString("N0", CultureInfo.InvariantCulture),
            $"{Num(step.Median)} [{Num(step.Min)}–{Num(step.Max)}]", $"{1000 / step.Median:0.00}",
            Num(Stats.Of(r.LossMs).Median), Num(Stats.Of(r.BackwardMs).Median), Num(Stats.Of(r.OptimizerMs).Median), Num(r.FirstStepMs),
        ]);
    }
    PrintTable(rows, [false, false, true, true, true, true, true, true, true, true, true]);
    Console.WriteLine("   loss fwd / backward / clip+AdamW: medians of each phase (they need not add up to the step's median; clip+AdamW also holds");
    Console.WriteLine("   zero_grad, reading the loss and freeing the step's tensors). 1st step = each process's first warm-up step (JIT, allocator, AdamW's");
    Console.WriteLine("   state made; the slowest of the processes), not in the median.");
    Console.WriteLine();

    Console.WriteLine("   Memory (MiB; RSS = VmRSS, peak = VmHWM of the case's own process) and live native tensors (LiveTensors.Count)");
    var mem = new List<string[]>
    {
        new[] { "config", "method", "RSS loaded", "peak while loading", "RSS + adapters, AdamW, example", "peak training", "peak − loaded", "adapter tensors", "live: loaded → attached → step 1 → last step → disposed", "flat" },
    };
    var anyNotFlat = train.Any(r => !r.Flat);
    var anyLeak = train.Any(r => r.Leaked);
    foreach (var r in train)
    {
        var flat = r.Flat;
        mem.Add([
            r.Config, RowLabel(r), Num(r.RssLoadedMiB), Num(r.PeakLoadMiB), Num(r.RssAttachedMiB),
            Num(r.PeakTrainMiB) + (r.PeakReset ? "" : "*"), Num(r.PeakTrainMiB - r.RssLoadedMiB), $"{r.AdapterMiB:0.00}",
            $"{r.LiveLoaded} → {r.LiveAttached} → {r.LivePerStep[0]} → {r.LivePerStep[^1]} → {r.LiveAfterDispose}",
            flat ? "yes" : "NO",
        ]);
    }
    PrintTable(mem, [false, false, true, true, true, true, true, true, false, false]);
    Console.WriteLine("   peak training = VmHWM after the peak was reset once loading was done (writing 5 to /proc/self/clear_refs), so it is the");
    Console.WriteLine("   peak of attach + encode + all steps; * = the reset failed and it is the whole process's peak. adapter tensors = every");
    Console.WriteLine("   adapter weight (T-LoRA's frozen base copies included); AdamW adds 2 × trainable params × 4 bytes. Memory: the largest");
    Console.WriteLine($"   over a row's processes; live counts: its first process, after a GC (flat = in every process).");
    if (train.Max(r => r.LiveFinalizedAfterLoad) is > 0 and var fin)
        Console.WriteLine($"   note: {fin} tensor(s) made while loading were never disposed; the GC's finalizer freed them before the counts above.");
    Console.WriteLine(anyNotFlat
        ? "   warning: the live tensor count moved between steps (a tensor is not disposed each step)."
        : "   live tensor count flat from step 1 (AdamW's state appears in step 1) to the last step in every case.");
    if (anyLeak) Console.WriteLine("   warning: tensors are left over after the adapters, optimiser and example were disposed (loaded ≠ disposed).");
    Console.WriteLine();
}

// ---- 2. sampling ----
if (sample.Count > 0)
{
    Console.WriteLine($"2. Sampling: Euler steps with classifier-free guidance (UNet batch 2, guidance {Cases.Guidance}), no adapter vs LoRA vs T-LoRA attached.");
    Console.WriteLine("   ms/step: median [min–max] of the intervals between consecutive denoising steps (steps − 1 per call) over the timed calls.");
    var rows = new List<string[]> { new[] { "config", "variant", "rank", "ms/denoise step", "steps/s", "vs no adapter", "whole call ms" } };
    foreach (var s in sample)
    {
        var none = s.Variants.FirstOrDefault(v => v.Name == "none") is { StepMs.Length: > 0 } n ? Stats.Of(n.StepMs).Median : double.NaN;
        foreach (var v in s.Variants)
        {
            if (v.StepMs.Length == 0) continue;
            var st = Stats.Of(v.StepMs);
            rows.Add([
                s.Config, v.Name == "none" ? "no adapter" : Label(v.Name), v.Name == "none" ? "-" : $"{s.Rank} ({Math.Max(1, s.Rank / 2)})",
                $"{Num(st.Median)} [{Num(st.Min)}–{Num(st.Max)}]", $"{1000 / st.Median:0.00}",
                v.Name == "none" ? "-" : Pct(st.Median / none - 1), Num(Stats.Of(v.CallMs).Median),
            ]);
        }
    }
    PrintTable(rows, [false, false, true, true, true, true, true]);
    foreach (var s in sample)
        Console.WriteLine($"   {s.Config}: {s.Reps} timed call(s) × {s.Steps} steps per variant; whole call = " +
                          (s.Config switch { "tiny" => "SdxlPipeline.Sample: prompt encoding (both CLIPs, CFG) + denoising + VAE decode", "flux-tiny" or "flux-mid" => "FluxPipeline.Sample: CLIP + T5 encoding + denoising (no CFG) + VAE decode", _ => "MidPipeline.Denoise (UNet only)" }) +
                          $"; live tensors {s.LiveBefore} before → {s.LiveAfter} after; peak RSS {Num(s.PeakMiB)} MiB.");
    Console.WriteLine();
}

// ---- losses: finite, and the same in every process of a (config, method) ----
// Every process of a row trains the same seeded steps, so with the same thread count their losses and trained adapters
// must agree bit for bit; TLORA_GC_STRESS=1 adds a thread that collects garbage all the time (README, Determinism).
var unequal = new List<string>();
if (trainRuns.Count > 0)
{
    Console.WriteLine("   Losses per step (warm-up included) and the trained adapter, compared across a row's processes:");
    foreach (var g in trainRuns.GroupBy(r => (r.Config, r.Method)))
    {
        var runs = g.ToList();
        var same = runs.All(r => r.Losses.SequenceEqual(runs[0].Losses) && r.AdapterHash == runs[0].AdapterHash);
        var finite = runs.All(r => r.Losses.All(double.IsFinite));
        Console.WriteLine($"   {g.Key.Config,-9} {Label(g.Key.Method),-15} loss {runs[0].Losses[0]:0.000000} → {runs[0].Losses[^1]:0.000000}, " +
                          $"all finite: {(finite ? "yes" : "NO")}, {runs.Count} process(es) bit-identical: {(same ? "yes" : "NO")}");
        if (!same) unequal.Add($"{g.Key.Config} {Label(g.Key.Method)}: processes disagree on losses or adapter");
    }
    Console.WriteLine();
}

// ---- 3. overhead ----
// A comparison is only called when both sides are clean: no competing load (other processes needing cores this case's
// threads wanted) and a tight spread of step times (interquartile range ≤ 25% of the median).
var overheadRows = new List<string[]> { new[] { "config", "measure", "LoRA", "Vanilla T-LoRA", "T-LoRA", "T-LoRA vs LoRA (medians)", "(minimums)", "< 5%?" } };
var verdicts = new List<string>();
foreach (var c in configs)
{
    TrainResult? Find(AdapterMethod m) => train.FirstOrDefault(r => r.Config == c && r.Method == m.ToString() && !r.Checkpointing);
    if (Find(AdapterMethod.LoRA) is { } lora && Find(AdapterMethod.TLoRA) is { } tlora)
    {
        var vanilla = Find(AdapterMethod.VanillaTLoRA);
        var (l, t) = (Stats.Of(lora.StepMs), Stats.Of(tlora.StepMs));
        var over = t.Median / l.Median - 1;
        var noisy = Noisy(lora.StepMs, lora.OtherCores) ?? Noisy(tlora.StepMs, tlora.OtherCores);
        overheadRows.Add([
            c, "training ms/step", Num(l.Median),
            vanilla is null ? "-" : $"{Num(Stats.Of(vanilla.StepMs).Median)} ({Pct(Stats.Of(vanilla.StepMs).Median / l.Median - 1)})",
            Num(t.Median), Pct(over), Pct(t.Min / l.Min - 1), Verdict(over, noisy),
        ]);
        verdicts.Add($"{c} training {Pct(over)} ({Verdict(over, noisy)})");
    }
    if (sample.FirstOrDefault(s => s.Config == c) is { } smp &&
        smp.Variants.FirstOrDefault(v => v.Name == "LoRA") is { StepMs.Length: > 0 } sl && smp.Variants.FirstOrDefault(v => v.Name == "TLoRA") is { StepMs.Length: > 0 } stl)
    {
        var (l, t) = (Stats.Of(sl.StepMs), Stats.Of(stl.StepMs));
        var over = t.Median / l.Median - 1;
        var noisy = Noisy(sl.StepMs, smp.OtherCores) ?? Noisy(stl.StepMs, smp.OtherCores);
        overheadRows.Add([c, "sampling ms/step", Num(l.Median), "-", Num(t.Median), Pct(over), Pct(t.Min / l.Min - 1), Verdict(over, noisy)]);
        verdicts.Add($"{c} sampling {Pct(over)} ({Verdict(over, noisy)})");
    }
}
if (overheadRows.Count > 1)
{
    Console.WriteLine("3. T-LoRA overhead vs plain LoRA (same rank; design target < 5%). Vanilla T-LoRA = LoRA + the rank mask; T-LoRA = Ortho-LoRA");
    Console.WriteLine("   (P·diag(λ)·Q) minus its frozen copy, both masked: twice the adapter matmuls of LoRA and about 3× its ops per projection.");
    PrintTable(overheadRows, [false, false, true, true, true, true, true, false]);
    Console.WriteLine("   no verdict when one side is noisy (other processes kept > 10% of the cores busy during its process, or its step times spread");
    Console.WriteLine("   widely: interquartile range > 25% of the median) or has too few steps (< 5): rerun on a quiet machine.");
    var rows = overheadRows.Skip(1).Select(r => r[^1]).ToList();
    bool Called(string v) => v is "met" or "NOT met";
    var summary = rows.All(v => v == "met") ? "met everywhere measured"
        : rows.Any(v => v == "NOT met") ? "NOT met" + (rows.Any(v => !Called(v)) ? " (some comparisons could not be called)" : "")
        : rows.All(v => !Called(v)) ? "undecided: no comparison could be called"
        : "met where a comparison could be called";
    Console.WriteLine($"   verdict on this {(options.Device.type == DeviceType.CPU ? "CPU" : "device")}: T-LoRA vs LoRA {string.Join(", ", verdicts)} — target {summary}.");
    Console.WriteLine();
}

// ---- 4. PyTorch ----
if (python.Count > 0 || pythonNotes.Count > 0)
{
    var peers = configs.Where(c => PythonMid.ScriptName(c) is not null).ToList();
    Console.WriteLine($"4. The training step in PyTorch {python.FirstOrDefault()?.Torch ?? "(not run)"} (Debian's python3-torch; the same denoiser, adapters, step and");
    Console.WriteLine($"   settings: {string.Join(", ", peers.Select(c => $"bench/python/{PythonMid.ScriptName(c)} for {c}"))}; BLAS: {(Directory.Exists(PythonMid.OpenBlasFolder) ? "OpenBLAS (pthreads) through LD_LIBRARY_PATH" : "the system's libblas.so.3")};");
    Console.WriteLine("   attention composed of matmuls: 1.13 has no SDPA).");
    var rows = new List<string[]> { new[] { "config", "method", "C# ms/step", "PyTorch ms/step", "C#/PyTorch", "loss fwd C# / Py", "backward C# / Py", "clip+AdamW C# / Py" } };
    foreach (var py in python)
    {
        if (train.FirstOrDefault(r => r.Config == py.Config && r.Method == py.Method && !r.Checkpointing) is not { } cs) continue;
        var (c, p) = (Stats.Of(cs.StepMs).Median, Stats.Of(py.StepMs).Median);
        rows.Add([py.Config, Label(py.Method), Num(c), $"{Num(p)} [{Num(py.StepMs.Min())}–{Num(py.StepMs.Max())}]", $"{c / p:0.00}",
            $"{Num(Stats.Of(cs.LossMs).Median)} / {Num(Stats.Of(py.LossMs).Median)}", $"{Num(Stats.Of(cs.BackwardMs).Median)} / {Num(Stats.Of(py.BackwardMs).Median)}",
            $"{Num(Stats.Of(cs.OptimizerMs).Median)} / {Num(Stats.Of(py.OptimizerMs).Median)}"]);
    }
    if (rows.Count > 1) PrintTable(rows, [false, false, true, true, true, true, true, true]);
    // the two sides must build the same model and adapters: parameter counts, C# / PyTorch
    foreach (var c in peers)
    {
        var runs = python.Where(py => py.Config == c).ToList();
        if (runs.Count == 0 || train.FirstOrDefault(r => r.Config == c && !r.Checkpointing) is not { } first) continue;
        var trainable = runs.Select(py => train.FirstOrDefault(r => r.Config == c && r.Method == py.Method && !r.Checkpointing) is { } cs
            ? $"{Label(py.Method)} {cs.TrainableParameters:N0} / {py.TrainableParameters:N0}" : null).OfType<string>().ToList();
        var same = runs.All(py => py.DenoiserParameters == first.UnetParameters) &&
                   runs.All(py => train.FirstOrDefault(r => r.Config == c && r.Method == py.Method && !r.Checkpointing) is not { } cs || cs.TrainableParameters == py.TrainableParameters);
        Console.WriteLine($"   {c}: {(c == "mid" ? "UNet" : "transformer")} parameters C# {first.UnetParameters:N0} / PyTorch {runs[0].DenoiserParameters:N0}; " +
                          $"trainable {string.Join(", ", trainable)}: {(same ? "equal" : "DIFFERENT")}");
    }
    foreach (var note in pythonNotes.Distinct()) Console.WriteLine($"   PyTorch peer: {note}");
    Console.WriteLine($"   {string.Join("; ", peers.Select(c => $"{c} {options.StepsFor(c)} timed steps after {options.WarmupFor(c)} warm-up"))}, " +
                      $"one process per method, {options.Threads} thread(s) (torch.set_num_threads).");
    Console.WriteLine();
}

// ---- 5. gradient checkpointing ----
var pairs = train.Where(r => r.Checkpointing)
    .Select(on => (on, off: train.FirstOrDefault(r => !r.Checkpointing && r.Config == on.Config && r.Method == on.Method)))
    .Where(p => p.off is not null).ToList();
if (pairs.Count > 0)
{
    Console.WriteLine("5. Gradient checkpointing (the denoiser's resnets and transformer blocks recomputed in backward): time against memory.");
    var rows = new List<string[]> { new[] { "config", "method", "ms/step off", "ms/step on", "time on/off", "peak − loaded MiB off", "on", "memory on/off", "CUDA peak − loaded MiB off / on" } };
    foreach (var (on, off) in pairs)
    {
        var (tOff, tOn) = (Stats.Of(off!.StepMs).Median, Stats.Of(on.StepMs).Median);
        var (mOff, mOn) = (off.PeakTrainMiB - off.RssLoadedMiB, on.PeakTrainMiB - on.RssLoadedMiB);
        rows.Add([on.Config, Label(on.Method), Num(tOff), Num(tOn), $"{tOn / tOff:0.00}", Num(mOff), Num(mOn), $"{mOn / mOff:0.00}",
            off.CudaPeakOverLoadedMiB is { } cOff && on.CudaPeakOverLoadedMiB is { } cOn ? $"{Num(cOff)} / {Num(cOn)}" : "- (not on CUDA)"]);
    }
    PrintTable(rows, [false, false, true, true, true, true, true, true, true]);
    Console.WriteLine("   peak − loaded = VmHWM during attach + encode + steps minus RSS once loaded (host memory; on CUDA the last column is the device's).");
    Console.WriteLine();
}

if (background is { } oc)
    Console.WriteLine($"background load: other processes kept {oc:0.00} of {Environment.ProcessorCount} cores busy on average during the run" +
                      (Competing(oc)
                          ? " — more than 10% of the machine: steps slow down (multi-threaded ones stall at every OpenMP barrier) and comparisons" +
                            " blur; rerun on an idle machine, with --threads 1 --blas-threads 1 for the steadiest numbers."
                          : " (quiet enough)."));
foreach (var f in failures.Concat(unequal)) Console.WriteLine($"FAILED: {f}");
return failures.Count == 0 && unequal.Count == 0 && train.All(r => r.Flat) ? 0 : 1;

// ---------------------------------------------------------------------------------------------------------------------

(T? Result, double? OtherCores) RunChild<T>(List<string> childArgs, string label) where T : class
{
    Console.Write($"  {label,-40} ");
    var exe = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
    var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    // Started as `dotnet TLoRA.Engine.Bench.dll`: the host needs the assembly again; through the apphost it does not.
    if (Path.GetFileNameWithoutExtension(exe) == "dotnet") psi.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
    foreach (var a in childArgs) psi.ArgumentList.Add(a);
    if (options.BlasThreads is { } blas) psi.Environment["OPENBLAS_NUM_THREADS"] = blas.ToString(CultureInfo.InvariantCulture);
    var load = LoadMonitor.Start();
    var sw = Stopwatch.StartNew();
    using var p = Process.Start(psi)!;
    var stderr = p.StandardError.ReadToEndAsync();
    var stdout = p.StandardOutput.ReadToEnd();
    p.WaitForExit();
    var err = stderr.Result;
    var other = load.OtherCores();
    var note = other is { } o && o >= 0.05 ? $"  (other processes: {o:0.00} cores{(Competing(o) ? ", competing!" : "")})" : "";
    var line = stdout.Split('\n').FirstOrDefault(l => l.StartsWith(ResultMarker, StringComparison.Ordinal));
    if (p.ExitCode != 0 || line is null)
    {
        Console.WriteLine($"FAILED (exit {p.ExitCode}, {sw.Elapsed.TotalSeconds:0.0} s)");
        var tail = string.Join('\n', err.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(15));
        Console.WriteLine(tail);
        failures.Add($"{label}: exit {p.ExitCode}");
        return (null, other);
    }
    Console.WriteLine($"{sw.Elapsed.TotalSeconds,5:0.0} s{note}");
    return (JsonSerializer.Deserialize<T>(line[ResultMarker.Length..], json), other);
}

// Other processes competed with a case when they kept more than 10% of the machine busy: even with --threads 1 on the
// 2-vCPU VM, one busy vCPU beside the case slowed its steps by up to 1.5× (shared caches and memory bandwidth), and with
// every core in use each OpenMP barrier waits for a preempted thread.
bool Competing(double otherCores) => otherCores > 0.1 * Environment.ProcessorCount;

// Why a comparison side cannot carry a verdict: competing load, a wide spread, or too few values (null: it can).
string? Noisy(IReadOnlyCollection<double> values, double? otherCores)
{
    var s = Stats.Of(values);
    return values.Count < 5 ? "too few steps"
        : otherCores is { } oc && Competing(oc) || s.Q3 - s.Q1 > 0.25 * s.Median ? "noisy"
        : null;
}

static string Verdict(double overhead, string? noisy) => noisy ?? (overhead < 0.05 ? "met" : "NOT met");

static string Describe(string config, string model, int resolution, long unetParameters) => config == "mid"
    ? $"SD-XL at 1/8 width, random weights ({unetParameters / 1e6:0.0} M UNet params): DownBlock2D, CrossAttnDownBlock2D ×2, UNetMidBlock2DCrossAttn, " +
      $"CrossAttnUpBlock2D ×2, UpBlock2D; channels [40, 80, 160], heads [5, 10, 20] (head dim 8), transformer layers [1, 2, 10], " +
      $"context [1, 77, 256], pooled [1, 160]; {resolution}² image → {resolution / 8}×{resolution / 8} latents"
    : config == "flux-mid" ? $"FLUX block structure at reduced size, random weights ({unetParameters / 1e6:0.0} M transformer params): {FluxMid.Describe}; flux-tiny's encoders and VAE, {resolution}² image → {resolution / 16}² packed tokens"
    : config == "flux-tiny" ? $"{model} via FluxPipeline.Load ({unetParameters / 1e6:0.00} M transformer params), {resolution}² concept image, 2×2-packed latents"
    : $"{model} via SdxlPipeline.Load ({unetParameters / 1e6:0.00} M UNet params), {resolution}² concept image → {resolution / 8}×{resolution / 8} latents";

static string RowLabel(TrainResult r) => Label(r.Method) + (r.Checkpointing ? " +ckpt" : "");

static string Label(object method) => method.ToString() switch
{
    nameof(AdapterMethod.TLoRA) => "T-LoRA",
    nameof(AdapterMethod.VanillaTLoRA) => "Vanilla T-LoRA",
    var s => s!,
};

static string Num(double v) => double.IsNaN(v) ? "-" : Math.Abs(v) switch { < 1 => $"{v:0.000}", < 10 => $"{v:0.00}", < 100 => $"{v:0.0}", _ => $"{v:0}" };

static string Pct(double ratio)
{
    if (double.IsNaN(ratio)) return "-";
    var p = Math.Round(ratio * 100, 1);
    return $"{(p >= 0 ? "+" : "")}{(p == 0 ? 0 : p):0.0}%"; // no "-0.0%"
}

static void PrintTable(List<string[]> rows, bool[] rightAligned) => Table.Print(rows, rightAligned);

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

namespace TLoRA.Engine.Bench
{
    /// <summary>A text table: header, rule, rows; columns padded, right-aligned where asked.</summary>
    internal static class Table
    {
        public static void Print(List<string[]> rows, bool[] rightAligned)
        {
            var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
            string Line(string[] r) => "   " + string.Join(" | ", r.Select((s, c) => rightAligned[c] ? s.PadLeft(widths[c]) : s.PadRight(widths[c]))).TrimEnd();
            Console.WriteLine(Line(rows[0]));
            Console.WriteLine("   " + string.Join("-+-", widths.Select(w => new string('-', w))));
            foreach (var r in rows.Skip(1)) Console.WriteLine(Line(r));
        }
    }

    /// <summary>Median, quartiles (linear interpolation), minimum and maximum of a sample.</summary>
    internal readonly record struct Stats(double Median, double Min, double Max, double Q1, double Q3)
    {
        public static Stats Of(IReadOnlyCollection<double> values)
        {
            if (values.Count == 0) return new Stats(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
            var s = values.Order().ToArray();
            double At(double q)
            {
                var x = q * (s.Length - 1);
                var i = (int)Math.Floor(x);
                return i + 1 < s.Length ? s[i] + (x - i) * (s[i + 1] - s[i]) : s[i];
            }
            return new Stats(At(0.5), s[0], s[^1], At(0.25), At(0.75));
        }
    }
}
