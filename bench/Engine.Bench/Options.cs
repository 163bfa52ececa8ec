using System.Globalization;
using TLoRA.Engine.Adapters;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Bench;

/// <summary>The command line. The parent passes its settings on to each child with <see cref="ChildArgs"/>.</summary>
internal sealed class Options
{
    public static readonly string[] Configs = ["tiny", "mid", "flux-tiny", "flux-mid"];
    public static readonly AdapterMethod[] Methods = [AdapterMethod.LoRA, AdapterMethod.VanillaTLoRA, AdapterMethod.TLoRA];

    public int Threads { get; private set; } = Environment.ProcessorCount;
    public bool Quick { get; private set; }
    public int? Steps { get; private set; }
    public int? Warmup { get; private set; }
    public int? SampleSteps { get; private set; }
    public int? SampleReps { get; private set; }
    public int? Rank { get; private set; }
    public int? Rounds { get; private set; }
    public int? BlasThreads { get; private set; }
    public HashSet<string> Only { get; } = new(StringComparer.Ordinal);
    public string DeviceText { get; private set; } = "cpu";
    public string DtypeText { get; private set; } = "float32";
    public string? Model { get; private set; }
    public int? Resolution { get; private set; }
    public bool NoSample { get; private set; }
    public bool NoTrain { get; private set; }
    public bool LoadOnly { get; private set; }
    /// <summary><c>--adapters mid|sdxl</c>: only making and loading a T-LoRA adapter (<see cref="AdapterBench"/>).</summary>
    public string? AdapterConfig { get; private set; }
    public bool NoPython { get; private set; }
    public string Python { get; private set; } = "/usr/bin/python3";
    /// <summary>Gradient checkpointing for the training cases: "off", "on" or "both" (each case with and without).</summary>
    public string Checkpointing { get; private set; } = "off";
    /// <summary>Child mode: this training case checkpoints the denoiser's blocks.</summary>
    public bool CaseCheckpointing => Checkpointing == "on";
    public IEnumerable<bool> CheckpointingModes => Checkpointing switch { "on" => [true], "both" => [false, true], _ => [false] };

    // child mode
    public string? Case { get; private set; }
    public AdapterMethod? Method { get; private set; }
    public bool SampleCase { get; private set; }

    public bool IsChild => Case is not null;
    public IEnumerable<string> SelectedConfigs => Configs.Where(c => Only.Count == 0 || Only.Contains(c));

    /// <summary>Timed training steps per (config, method), in all rounds together: the median of these is reported.</summary>
    public int StepsFor(string config) => Steps ?? (config is "tiny" or "flux-tiny" ? (Quick ? 3 : 30) : (Quick ? 1 : 8));
    /// <summary>Processes per (config, method); the methods' processes alternate (LoRA, Vanilla, T-LoRA, then the reverse)
    /// so that a slow patch of a shared machine does not land on one method only.</summary>
    public int RoundsFor(string config) => Math.Min(Rounds ?? (Quick ? 1 : 2), StepsFor(config));
    /// <summary>Timed steps in each process.</summary>
    public int StepsPerProcess(string config) => (StepsFor(config) + RoundsFor(config) - 1) / RoundsFor(config);
    /// <summary>Untimed training steps first in each process: the JIT's optimised tier, libtorch's and the allocator's
    /// caches, AdamW's lazily made state (step 1).</summary>
    public int WarmupFor(string config) => Warmup ?? (Quick ? 1 : config is "tiny" or "flux-tiny" ? 5 : 2);
    /// <summary>Denoising steps per timed sampling call.</summary>
    public int SampleStepsFor(string config) => SampleSteps ?? (Quick ? 2 : config is "tiny" or "flux-tiny" ? 10 : 6);
    /// <summary>Timed sampling calls per variant (after one short untimed warm-up call each), the variants alternating.</summary>
    public int SampleRepsFor(string config) => SampleReps ?? (Quick ? 1 : config is "tiny" or "flux-tiny" ? 3 : 2);
    /// <summary>Adapter rank: 4 on tiny (its attention dims are 32–64), 16 on mid.</summary>
    public int RankFor(string config) => Rank ?? (config is "tiny" or "flux-tiny" ? 4 : 16);

    public ScalarType Dtype => DtypeText.ToLowerInvariant() switch
    {
        "float32" or "fp32" => ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        "float16" or "fp16" => ScalarType.Float16,
        _ => throw new FormatException($"--dtype must be float32, bfloat16 or float16, not '{DtypeText}'"),
    };

    public Device Device => TLoRA.Engine.TorchRuntime.ParseDevice(DeviceText);

    /// <summary>The arguments that make a child run one case with this run's settings (counts given explicitly).</summary>
    public List<string> ChildArgs(string config, AdapterMethod? method, bool checkpointing = false)
    {
        var a = new List<string> { "--case", config };
        if (checkpointing) a.AddRange(["--gradient-checkpointing", "on"]);
        if (method is { } m) a.AddRange(["--method", m.ToString(), "--steps", I(StepsPerProcess(config)), "--warmup", I(WarmupFor(config))]);
        else a.AddRange(["--sample", "--sample-steps", I(SampleStepsFor(config)), "--sample-reps", I(SampleRepsFor(config))]);
        a.AddRange(["--threads", I(Threads), "--device", DeviceText, "--dtype", DtypeText, "--rank", I(RankFor(config))]);
        if (Model is { } mo) a.AddRange(["--model", mo]);
        if (Resolution is { } re) a.AddRange(["--resolution", I(re)]);
        return a;
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    public const string Usage = """
        Usage: dotnet run -c Release --project bench/Engine.Bench -- [options]

          --quick              a few steps per case: checks that everything works in well under a minute; rough numbers
          --steps N            timed training steps per (config, method) (default: tiny 30, mid 8; --quick 3 / 1)
          --rounds R           processes per (config, method), the methods alternating; --steps are split among them
                               (default 2, --quick 1)
          --warmup N           untimed training steps at the start of each process (default: tiny 5, mid 2; --quick 1)
          --sample-steps N     denoising steps per timed sampling call (default: tiny 10, mid 6; --quick 2)
          --sample-reps R      timed sampling calls per variant (default: tiny 3, mid 2; --quick 1)
          --threads N          torch.set_num_threads(N) in every case (default: all cores = Environment.ProcessorCount)
          --blas-threads N     OPENBLAS_NUM_THREADS=N for the case processes (default: inherited; unset, OpenBLAS keeps
                               its own pool of one thread per core beside libtorch's OpenMP threads)
          --only tiny|mid|flux-tiny|flux-mid  only these configs (comma-separated)
          --no-train           skip the training cases
          --no-sample          skip the sampling cases
          --gradient-checkpointing off|on|both  training cases without, with, or both (rows "+ckpt"; section 5 compares)
          --no-python          skip the PyTorch peers of the mid and flux-mid training steps (bench/python/mid_train_step.py,
                               flux_mid_train_step.py; CPU only)
          --python PATH        their interpreter (default /usr/bin/python3: Debian's python3-torch)
          --load               only model loading: before (random init + copy) vs after (meta device), per component
          --adapters mid|sdxl  only making and loading a T-LoRA adapter of the mid or SD-XL UNet's shapes (sdxl: minutes)
          --rank N             adapter rank for every config (default: tiny 4, mid 16; r_min = rank/2)
          --device D           cpu, cuda or cuda:N: passed to the loaders (cuda needs a CUDA libtorch, see README)
          --dtype T            frozen weights' dtype: float32, bfloat16 or float16 (adapters train in float32)
          --model DIR          the diffusers SD-XL folder for the "tiny" config (default: tests/fixtures/sdxl-tiny)
          --resolution R       training/sampling resolution for that folder (default: its native size, 64 for the fixture)
          -h, --help           this text

        Every (config, method) case runs in a fresh child process (the program started again with --case C
        --method M or --case C --sample), which prints one JSON line that the parent turns into the tables.
        """;

    /// <summary>Parses the command line; null after printing usage (for --help or a bad argument, see exitCode).</summary>
    public static Options? Parse(string[] args, out int exitCode)
    {
        var o = new Options();
        exitCode = 0;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
                int Positive(string name)
                {
                    var v = int.Parse(Value(), CultureInfo.InvariantCulture);
                    return v >= 1 ? v : throw new FormatException($"{name} must be at least 1");
                }
                switch (args[i])
                {
                    case "--threads": o.Threads = Positive("--threads"); break;
                    case "--quick": o.Quick = true; break;
                    case "--steps": o.Steps = Positive("--steps"); break;
                    case "--warmup":
                        o.Warmup = int.Parse(Value(), CultureInfo.InvariantCulture);
                        if (o.Warmup < 0) throw new FormatException("--warmup must not be negative");
                        break;
                    case "--sample-steps": o.SampleSteps = Positive("--sample-steps"); break;
                    case "--sample-reps": o.SampleReps = Positive("--sample-reps"); break;
                    case "--rank": o.Rank = Positive("--rank"); break;
                    case "--rounds": o.Rounds = Positive("--rounds"); break;
                    case "--blas-threads": o.BlasThreads = Positive("--blas-threads"); break;
                    case "--only":
                        foreach (var n in Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                            o.Only.Add(Configs.Contains(n) ? n : throw new FormatException($"--only: unknown config '{n}' (tiny, mid, flux-tiny, flux-mid)"));
                        break;
                    case "--no-train": o.NoTrain = true; break;
                    case "--no-sample": o.NoSample = true; break;
                    case "--load": o.LoadOnly = true; break;
                    case "--adapters":
                        o.AdapterConfig = Value() is ("mid" or "sdxl") and var a ? a : throw new FormatException("--adapters: mid or sdxl");
                        break;
                    case "--no-python": o.NoPython = true; break;
                    case "--python": o.Python = Value(); break;
                    case "--gradient-checkpointing":
                        var gc = Value();
                        o.Checkpointing = gc is "off" or "on" or "both" ? gc : throw new FormatException("--gradient-checkpointing must be off, on or both");
                        break;
                    case "--device": o.DeviceText = Value(); _ = o.Device; break;
                    case "--dtype": o.DtypeText = Value(); _ = o.Dtype; break;
                    case "--model": o.Model = Value(); break;
                    case "--resolution": o.Resolution = Positive("--resolution"); break;
                    case "--case":
                        o.Case = Value();
                        if (!Configs.Contains(o.Case)) throw new FormatException($"--case: unknown config '{o.Case}' (tiny, mid, flux-tiny, flux-mid)");
                        break;
                    case "--method":
                        o.Method = Enum.TryParse<AdapterMethod>(Value(), ignoreCase: true, out var m)
                            ? m : throw new FormatException($"--method must be {string.Join(", ", Methods)}");
                        break;
                    case "--sample": o.SampleCase = true; break;
                    case "-h" or "--help":
                        Console.WriteLine(Usage);
                        return null;
                    default: throw new FormatException($"unknown argument '{args[i]}'");
                }
            }
            if (o.Case is not null && (o.Method is null) == !o.SampleCase)
                throw new FormatException("--case needs exactly one of --method M or --sample");
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine(Usage);
            exitCode = 2;
            return null;
        }
        return o;
    }
}
