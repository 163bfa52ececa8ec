using System.Globalization;

namespace TLoRA.Torch.Bench;

internal sealed class Options
{
    public const double QuickScale = 0.02;  // = QUICK_SCALE in dispatch_bench.py
    public const int QuickReps = 3;         // = QUICK_REPS
    public const int DefaultReps = 7;       // = DEFAULT_REPS
    public const double DefaultWarmupSeconds = 0.2;  // = WARMUP_SECONDS
    public const double QuickWarmupSeconds = 0.05;   // = QUICK_WARMUP_SECONDS

    public int Threads { get; private set; } = Environment.ProcessorCount;
    public bool Quick { get; private set; }
    public double? Scale { get; private set; }
    public int? Reps { get; private set; }
    public int? Pause { get; private set; }
    public HashSet<string> Only { get; } = new(StringComparer.Ordinal);
    public bool NoPython { get; private set; }
    public bool NoBreakdown { get; private set; }
    public string PythonExe { get; private set; } = "/usr/bin/python3";
    public string? PythonScript { get; private set; }

    public double EffectiveScale => Scale ?? (Quick ? QuickScale : 1.0);
    /// <summary>Sleep before each timed repetition while C# and PyTorch alternate.</summary>
    public int PauseMs => Pause ?? (Quick ? 20 : 150);
    public double WarmupSeconds => Quick ? QuickWarmupSeconds : DefaultWarmupSeconds;
    public int EffectiveReps => Reps ?? (Quick ? QuickReps : DefaultReps);
    public int ItersFor(Workload w) => Math.Max(1, (int)Math.Round(w.DefaultIters * EffectiveScale, MidpointRounding.ToEven));

    public const string Usage = """
        Usage: dotnet run -c Release --project bench/Torch.Bench -- [options]

          --threads N          intra-op threads for both C# and PyTorch (default: all cores = Environment.ProcessorCount)
          --quick              iterations x0.02, 3 repetitions, 0.05 s warm-ups: a smoke test that finishes in seconds
          --iterations SCALE   multiply every workload's default iteration count by SCALE (e.g. 0.5, 2)
          --reps R             timed repetitions per workload; the median is reported (default 7, --quick 3)
          --pause-ms MS        sleep before each timed repetition while C# and PyTorch alternate, so that the other
                               process's idle BLAS/OpenMP threads have stopped spinning (default 150, --quick 20)
          --only a,b,...       run only these workloads (add, mul, silu, view_permute, dim, matmul, conv2d, autograd, lora_proj, tlora_proj,
                               add_using, add_nofree, scope)
          --no-python          skip the PyTorch run
          --no-breakdown       skip the C#-only breakdown rows
          --python PATH        interpreter for the PyTorch run (default /usr/bin/python3)
          --python-script PATH bench/python/dispatch_bench.py, if it cannot be found automatically
          -h, --help           this text
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
                switch (args[i])
                {
                    case "--threads":
                        o.Threads = int.Parse(Value(), CultureInfo.InvariantCulture);
                        if (o.Threads < 1) throw new FormatException("--threads must be at least 1");
                        break;
                    case "--quick": o.Quick = true; break;
                    case "--iterations":
                        o.Scale = double.Parse(Value(), CultureInfo.InvariantCulture);
                        if (!(o.Scale > 0)) throw new FormatException("--iterations must be positive");
                        break;
                    case "--reps":
                        o.Reps = int.Parse(Value(), CultureInfo.InvariantCulture);
                        if (o.Reps < 1) throw new FormatException("--reps must be at least 1");
                        break;
                    case "--pause-ms":
                        o.Pause = int.Parse(Value(), CultureInfo.InvariantCulture);
                        if (o.Pause < 0) throw new FormatException("--pause-ms must not be negative");
                        break;
                    case "--only":
                        foreach (var n in Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                            o.Only.Add(n);
                        break;
                    case "--no-python": o.NoPython = true; break;
                    case "--no-breakdown": o.NoBreakdown = true; break;
                    case "--python": o.PythonExe = Value(); break;
                    case "--python-script": o.PythonScript = Value(); break;
                    case "-h" or "--help":
                        Console.WriteLine(Usage);
                        return null;
                    default: throw new FormatException($"unknown argument '{args[i]}'");
                }
            }
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
