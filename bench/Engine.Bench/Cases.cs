using System.Diagnostics;
using TLoRA.Engine.Adapters;
using TLoRA.Engine.Pipelines;
using TLoRA.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Bench;

/// <summary>One training case's numbers (a child process prints it as a JSON line). Times in ms, memory in MiB.</summary>
internal sealed record TrainResult
{
    public required string Config { get; init; }
    public required string Method { get; init; }
    public required string Model { get; init; }
    public required int Resolution { get; init; }
    public required int Rank { get; init; }
    public required int MinRank { get; init; }
    public required int AdaptedAttentions { get; init; }
    public required long TrainableParameters { get; init; }
    /// <summary>All adapter tensors (T-LoRA's frozen base copies included), fp32.</summary>
    public required double AdapterMiB { get; init; }
    public required long UnetParameters { get; init; }
    public required double LoadSeconds { get; init; }
    public required int Warmup { get; init; }
    /// <summary>Timed steps only (after the warm-up).</summary>
    public required double[] StepMs { get; init; }
    public required double[] LossMs { get; init; }
    public required double[] BackwardMs { get; init; }
    public required double[] OptimizerMs { get; init; }
    public required double FirstStepMs { get; init; }
    public required double RssStartMiB { get; init; }
    public required double RssLoadedMiB { get; init; }
    public required double PeakLoadMiB { get; init; }
    public required double RssAttachedMiB { get; init; }
    public required double RssEndMiB { get; init; }
    /// <summary>VmHWM since the reset after loading (or the whole process's peak when <see cref="PeakReset"/> is false).</summary>
    public required double PeakTrainMiB { get; init; }
    public required bool PeakReset { get; init; }
    public required long LiveLoaded { get; init; }
    public required long LiveAttached { get; init; }
    /// <summary>Live native tensors after every step (warm-up included).</summary>
    public required long[] LivePerStep { get; init; }
    public required long LiveAfterDispose { get; init; }
    /// <summary>Tensors that loading left undisposed and unreferenced (freed by the GC's finalizer, not by Dispose).</summary>
    public required long LiveFinalizedAfterLoad { get; init; }
    public required double FirstLoss { get; init; }
    public required double LastLoss { get; init; }
    /// <summary>Every step's loss (warm-up included), to compare two runs of the same case bit for bit.</summary>
    public required double[] Losses { get; init; }
    /// <summary>FNV-1a over the trained adapter's tensors' bytes (sorted by name): equal runs give equal hashes.</summary>
    public required string AdapterHash { get; init; }

    /// <summary>The live tensor count stayed the same from step 1 (AdamW's state appears there) to the last step.</summary>
    public bool Flat { get; init; }
    /// <summary>Tensors were left after the adapters, optimiser and example were disposed.</summary>
    public bool Leaked { get; init; }
    /// <summary>The denoiser's blocks were recomputed in backward (gradient checkpointing).</summary>
    public bool Checkpointing { get; init; }
    /// <summary>On CUDA: the most device memory in use at any step boundary (NVML, whole device) minus what was in use
    /// once the model was loaded; null elsewhere.</summary>
    public double? CudaPeakOverLoadedMiB { get; init; }
    /// <summary>How many processes the (merged) row stands for.</summary>
    public int Processes { get; init; } = 1;
    /// <summary>Cores kept busy by other processes while this case ran (set by the parent; the largest of a merged row's).</summary>
    public double? OtherCores { get; init; }
}

/// <summary>One sampling case: denoising-step times per variant (no adapter, LoRA, T-LoRA).</summary>
internal sealed record SampleResult
{
    public required string Config { get; init; }
    public required string Model { get; init; }
    public required int Resolution { get; init; }
    public required int Steps { get; init; }
    public required int Reps { get; init; }
    public required double Guidance { get; init; }
    public required int Rank { get; init; }
    public required SampleVariant[] Variants { get; init; }
    public required long LiveBefore { get; init; }
    public required long LiveAfter { get; init; }
    public required long LiveFinalizedAfterLoad { get; init; }
    public required double RssLoadedMiB { get; init; }
    public required double PeakMiB { get; init; }
    /// <summary>Cores kept busy by other processes while this case ran (set by the parent).</summary>
    public double? OtherCores { get; init; }
}

/// <param name="StepMs">every interval between consecutive denoising steps of every timed call (steps − 1 per call).</param>
/// <param name="CallMs">the whole call per timed call (tiny: prompt encoding + denoising + VAE decode).</param>
internal sealed record SampleVariant(string Name, double[] StepMs, double[] CallMs);

/// <summary>The cases a child process runs: load one config, measure, return the numbers.</summary>
internal static class Cases
{
    public const double Guidance = 5.0;
    private const string Prompt = "a photo of sks robot";

    /// <summary>
    /// Training as <see cref="AdapterTrainer"/>.Run does it, step for step (attach, AdamW with the paper's settings,
    /// encode once; per step: reseed, pipeline.TrainingLoss, backward, clip_grad_norm_(1), AdamW step, zero_grad,
    /// loss.ItemDouble()), without its events and checkpoints, and with a stopwatch around each phase.
    /// </summary>
    private static string AdapterHash(AdapterNetwork network)
    {
        var hash = 14695981039346656037UL;
        using var scope = torch.NewDisposeScope();
        foreach (var (_, t) in network.StateDict().OrderBy(kv => kv.Key, StringComparer.Ordinal))
            foreach (var b in t.contiguous().cpu().bytes)
                hash = (hash ^ b) * 1099511628211UL;
        return hash.ToString("x16");
    }

    public static TrainResult Train(Options o, string config, AdapterMethod method)
    {
        var device = o.Device;
        var start = ProcessMemory.Read();
        var load = Stopwatch.StartNew();
        var (pipeline, image, model, resolution) = Load(o, config);
        using var pipelineScope = pipeline;
        using var imageScope = image;
        load.Stop();
        var (liveLoaded, finalized) = CollectGarbage();
        var loaded = ProcessMemory.Read();
        var unetParameters = pipeline.Denoiser.parameters().Sum(p => p.numel());
        var peakReset = ProcessMemory.ResetPeak();
        var cuda = CudaMemory.TryOpen(device);
        var cudaLoaded = cuda?.UsedMiB();
        double? cudaPeak = null;
        if (o.CaseCheckpointing) TLoRA.Engine.Common.GradientCheckpointing.Set(pipeline.Denoiser, true);

        var options = new TrainingOptions
        {
            Method = method, Rank = o.RankFor(config), Resolution = resolution, Seed = 0,
            Steps = o.WarmupFor(config) + o.StepsFor(config), ValidationPrompts = [], CheckpointInterval = 0,
        }.Validate();
        var spec = options.ToSpec(pipeline.ScheduleKind, pipeline.AdapterProjections);
        var network = AdapterNetwork.Attach(pipeline.Denoiser, spec, new Generator(options.Seed), pipeline.Device);
        var parameters = network.TrainableParameters;
        var optimizer = new AdamW(parameters, options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
        var example = pipeline.PrepareTraining(image, options.TrainingPrompt);
        var attached = ProcessMemory.Read();
        var liveAttached = TLoRA.Engine.TorchRuntime.LiveTensors;
        var adapterBytes = network.StateDict().Values.Sum(t => t.numel() * t.element_size());

        var generator = new Generator(options.Seed);
        var step = new List<double>();
        var lossPhase = new List<double>();
        var backward = new List<double>();
        var opt = new List<double>();
        var live = new List<long>();
        var losses = new List<double>();
        for (var s = 1; s <= options.Steps; s++)
        {
            var t0 = Stopwatch.GetTimestamp();
            long t1, t2;
            generator.manual_seed(unchecked((long)(options.Seed * 1_000_003UL + (ulong)s)));
            double loss;
            using (var scope = torch.NewDisposeScope())
            {
                var (l, _) = pipeline.TrainingLoss(example, network, generator);
                Sync(device);
                cudaPeak = Max(cudaPeak, cuda?.UsedMiB()); // activations kept for backward are all alive here
                t1 = Stopwatch.GetTimestamp();
                OneDnn.Backward(l); // oneDNN off: its CPU convolution backward returned NaN now and then
                TLoRA.Engine.Common.GradientCheckpoint.ThrowIfFailed();
                Sync(device);
                cudaPeak = Max(cudaPeak, cuda?.UsedMiB());
                t2 = Stopwatch.GetTimestamp();
                if (options.MaxGradNorm is { } max) torch.nn.utils.clip_grad_norm_(parameters, max);
                optimizer.step();
                optimizer.zero_grad();
                loss = l.ItemDouble();
            }
            var t3 = Stopwatch.GetTimestamp();
            losses.Add(loss);
            if (!double.IsFinite(loss))
                throw new InvalidOperationException($"{config}/{method}: loss is {loss} at step {s} (losses {string.Join(' ', losses)})");
            live.Add(TLoRA.Engine.TorchRuntime.LiveTensors);
            step.Add(Stopwatch.GetElapsedTime(t0, t3).TotalMilliseconds);
            lossPhase.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
            backward.Add(Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds);
            opt.Add(Stopwatch.GetElapsedTime(t2, t3).TotalMilliseconds);
        }
        var end = ProcessMemory.Read();
        var layers = network.Layers.Count;
        var trainable = parameters.Sum(p => p.numel());
        var adapterHash = AdapterHash(network);
        example.Dispose();
        optimizer.Dispose();
        network.Dispose();
        var (liveDisposed, _) = CollectGarbage();
        var warm = options.Steps - o.StepsFor(config);
        return new TrainResult
        {
            Config = config, Method = method.ToString(), Model = model, Resolution = resolution, Rank = spec.Rank, MinRank = spec.MinRank,
            AdaptedAttentions = layers, TrainableParameters = trainable, AdapterMiB = adapterBytes / 1048576.0,
            UnetParameters = unetParameters, LoadSeconds = load.Elapsed.TotalSeconds, Warmup = warm,
            StepMs = step.Skip(warm).ToArray(), LossMs = lossPhase.Skip(warm).ToArray(), BackwardMs = backward.Skip(warm).ToArray(),
            OptimizerMs = opt.Skip(warm).ToArray(), FirstStepMs = step[0],
            RssStartMiB = start.RssMiB, RssLoadedMiB = loaded.RssMiB, PeakLoadMiB = loaded.PeakMiB, RssAttachedMiB = attached.RssMiB,
            RssEndMiB = end.RssMiB, PeakTrainMiB = end.PeakMiB, PeakReset = peakReset,
            LiveLoaded = liveLoaded, LiveAttached = liveAttached, LivePerStep = live.ToArray(), LiveAfterDispose = liveDisposed, LiveFinalizedAfterLoad = finalized,
            FirstLoss = losses[0], LastLoss = losses[^1], Losses = losses.ToArray(), AdapterHash = adapterHash,
            Flat = live.All(l => l == live[0]), Leaked = liveDisposed != liveLoaded,
            Checkpointing = o.CaseCheckpointing, CudaPeakOverLoadedMiB = cudaPeak - cudaLoaded,
        };
    }

    private static double? Max(double? a, double? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);

    /// <summary>
    /// Sampling with CFG (UNet batch 2) without an adapter, with a LoRA and with a T-LoRA attached: one untimed call
    /// per variant, then <c>reps</c> rounds in which the variants alternate. tiny goes through SdxlPipeline.Sample (its
    /// progress callback marks the steps); mid runs <see cref="MidPipeline.Denoise"/>.
    /// </summary>
    public static SampleResult Sample(Options o, string config)
    {
        var device = o.Device;
        var (pipeline, image, model, resolution) = Load(o, config);
        using var pipelineScope = pipeline;
        image.Dispose();
        var (liveBefore, finalized) = CollectGarbage();
        var loaded = ProcessMemory.Read();
        var steps = o.SampleStepsFor(config);
        var reps = o.SampleRepsFor(config);
        var rank = o.RankFor(config);
        string[] variants = ["none", nameof(AdapterMethod.LoRA), nameof(AdapterMethod.TLoRA)];
        var stepMs = variants.ToDictionary(v => v, _ => new List<double>());
        var callMs = variants.ToDictionary(v => v, _ => new List<double>());

        void Call(string variant, bool timed)
        {
            var callSteps = timed ? steps : 1; // the untimed warm-up call: one step runs every code path
            AdapterNetwork? network = null;
            if (variant != "none")
            {
                var method = Enum.Parse<AdapterMethod>(variant);
                var spec = new AdapterSpec(method, rank, Math.Max(1, rank / 2), Schedule: pipeline.ScheduleKind, Projections: pipeline.AdapterProjections);
                network = AdapterNetwork.Attach(pipeline.Denoiser, spec, new Generator(0), pipeline.Device);
            }
            try
            {
                var marks = new List<long>();
                void Mark()
                {
                    Sync(device);
                    marks.Add(Stopwatch.GetTimestamp());
                }
                var call = Stopwatch.StartNew();
                if (pipeline is MidPipeline mid)
                {
                    mid.Denoise(callSteps, Guidance, network, 0, _ => Mark());
                }
                else
                {
                    // SD-XL or FLUX through the real pipeline (FLUX: guidance via the embedding, batch 1)
                    var options = new SampleOptions([Prompt], null, pipeline is FluxPipeline ? 3.5 : Guidance, callSteps, 0, resolution, resolution);
                    using var images = pipeline.Sample(options, network, new SyncProgress(_ => Mark()), CancellationToken.None);
                }
                Sync(device);
                call.Stop();
                if (!timed) return;
                for (var i = 1; i < marks.Count; i++) stepMs[variant].Add(Stopwatch.GetElapsedTime(marks[i - 1], marks[i]).TotalMilliseconds);
                callMs[variant].Add(call.Elapsed.TotalMilliseconds);
            }
            finally
            {
                network?.Dispose();
            }
        }

        foreach (var v in variants) Call(v, timed: false);
        for (var r = 0; r < reps; r++)
            foreach (var v in r % 2 == 0 ? variants : variants.Reverse())
                Call(v, timed: true);
        var end = ProcessMemory.Read();
        var (liveAfter, _) = CollectGarbage();
        return new SampleResult
        {
            Config = config, Model = model, Resolution = resolution, Steps = steps, Reps = reps, Guidance = Guidance, Rank = rank,
            Variants = variants.Select(v => new SampleVariant(v, stepMs[v].ToArray(), callMs[v].ToArray())).ToArray(),
            LiveBefore = liveBefore, LiveAfter = liveAfter, LiveFinalizedAfterLoad = finalized, RssLoadedMiB = loaded.RssMiB, PeakMiB = end.PeakMiB,
        };
    }

    /// <summary>Loads a config: tiny = SdxlPipeline.Load of the fixture (or --model) with the bundled concept image at
    /// the model's native resolution; mid = <see cref="MidPipeline"/> with a stand-in image.</summary>
    private static (IDiffusionPipeline Pipeline, ConceptImage Image, string Model, int Resolution) Load(Options o, string config)
    {
        if (config == "mid")
        {
            var mid = MidPipeline.Create(Path.Combine(Repository.SdxlTiny, "scheduler"), o.Dtype, o.Device);
            return (mid, MidPipeline.DummyImage(), mid.Name, MidPipeline.ImageSize);
        }
        var folder = config is "flux-tiny" or "flux-mid" ? Repository.FluxTiny : o.Model ?? Repository.SdxlTiny;
        var pipeline = config == "flux-mid" ? FluxMid.Load(folder, o.Dtype, o.Device) : PipelineLoader.Load(folder, o.Dtype, o.Device);
        try
        {
            var resolution = o.Resolution ?? (config == "flux-mid" ? FluxMid.ImageSize : PipelineLoader.DefaultResolution(pipeline));
            var image = File.Exists(Repository.ConceptImage)
                ? ConceptImage.Load(Repository.ConceptImage, resolution)
                : new ConceptImage(torch.zeros([1, 3, resolution, resolution]), resolution, resolution, 0, 0);
            return (pipeline, image, pipeline.Name, resolution);
        }
        catch
        {
            pipeline.Dispose();
            throw;
        }
    }

    /// <summary>Runs the GC and the finalizers; returns the live tensor count after and how many tensors they freed
    /// (tensors nobody disposed: the count is only meaningful once those are gone).</summary>
    private static (long Live, long Finalized) CollectGarbage()
    {
        var before = TLoRA.Engine.TorchRuntime.LiveTensors;
        for (var i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        var after = TLoRA.Engine.TorchRuntime.LiveTensors;
        return (after, before - after);
    }

    /// <summary>Waits for the GPU so a stopwatch reading means the work is done (a no-op on the CPU).</summary>
    private static void Sync(Device device)
    {
        if (device.type == DeviceType.CUDA) torch.cuda.synchronize(device);
    }

    /// <summary>An IProgress that reports on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress(Action<SampleProgress> report) : IProgress<SampleProgress>
    {
        public void Report(SampleProgress value) => report(value);
    }
}

/// <summary>Finds the repository's fixtures by walking up from the binary, then from the working directory.</summary>
internal static class Repository
{
    private static readonly Lazy<string> FixturesPath = new(() =>
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "sdxl-tiny");
                if (Directory.Exists(candidate)) return Path.Combine(dir.FullName, "tests", "fixtures");
            }
        throw new DirectoryNotFoundException($"no tests/fixtures/sdxl-tiny above {AppContext.BaseDirectory} or {Directory.GetCurrentDirectory()}");
    });

    public static string Fixtures => FixturesPath.Value;
    public static string SdxlTiny => Path.Combine(Fixtures, "sdxl-tiny");
    public static string FluxTiny => Path.Combine(Fixtures, "flux-tiny");
    public static string ConceptImage => Path.Combine(Fixtures, "concept", "toy-robot.jpg");
}
