using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine;

/// <summary>
/// One home for how this process runs libtorch: the backend it was built with (the TorchBackend build property), the
/// device a user names, and the CPU thread settings. <see cref="Configure"/> runs before the engine's first tensor
/// (module initialiser) and must run before anything else touches TorchSharp: OpenMP reads OMP_WAIT_POLICY once,
/// when libtorch loads.
/// <para>Environment: <c>TLORA_NUM_THREADS</c> (libtorch's intra-op threads; default <see cref="DefaultThreads"/>),
/// <c>OMP_WAIT_POLICY</c> (OpenMP's, default <see cref="DefaultWaitPolicy"/> when unset).</para>
/// </summary>
public static class TorchRuntime
{
    /// <summary>The build property that picks the backend.</summary>
    public const string BackendProperty = "TorchBackend";

    /// <summary>OpenMP's wait policy when OMP_WAIT_POLICY is unset: idle threads sleep instead of spinning, so a
    /// second busy process (a test assembly, the gateway) does not starve libtorch's threads.</summary>
    public const string DefaultWaitPolicy = "PASSIVE";

    private static int configured;

    /// <summary>"cpu" or "cuda": the TorchBackend this engine was built with.</summary>
    public static string Backend { get; } = typeof(TorchRuntime).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == BackendProperty)?.Value ?? "cpu";

    /// <summary>libtorch's version (TorchSharp's __version__).</summary>
    public static string LibTorchVersion => torch.__version__;

    /// <summary>Tensors created on the calling thread and not yet disposed (TorchSharp's dispose-scope statistics): the
    /// engine thread's count returns to its baseline after every step, run and failed job.</summary>
    public static long LiveTensors => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;

    /// <summary>Intra-op threads when TLORA_NUM_THREADS is unset: 1. Measured with bench/threads.sh on the 2-core
    /// machine (README, Threads): 2 threads won 20–25 % on matmul/conv2d when the machine was otherwise idle, but with
    /// any other busy process (a test assembly, the gateway, a build) the training step and svd took 2–3× as long as
    /// with 1 thread, which held up. A GPU host does its heavy work on the GPU either way.</summary>
    public const int DefaultThreads = 1;

    /// <summary>The intra-op thread count in force after <see cref="Configure"/>.</summary>
    public static int Threads => torch.get_num_threads();

    /// <summary>T-LoRA initialisation SVDs run at once (<see cref="Adapters.OrthogonalInitialisation"/>): one per core the
    /// process may use (.NET counts a container's CPU limit), each on <see cref="Threads"/> intra-op threads. They are
    /// a job's start, nothing else runs beside them, and the adapter's weights do not depend on their number.</summary>
    public static int InitialisationWorkers => Math.Max(1, Environment.ProcessorCount / Math.Max(1, Threads));

#pragma warning disable CA2255 // the engine's own libtorch must be configured before any tensor exists
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void ConfigureOnLoad()
    {
        try
        {
            Configure();
        }
        catch (ArgumentException)
        {
            // a bad TLORA_NUM_THREADS: reported by the host's own Configure() call, not from a module initialiser
        }
    }

    /// <summary>Sets OpenMP's wait policy (once, before libtorch loads) and libtorch's thread count from the
    /// environment.</summary>
    /// <exception cref="ArgumentException">TLORA_NUM_THREADS is not a positive integer.</exception>
    public static void Configure()
    {
        if (Interlocked.Exchange(ref configured, 1) == 0 && Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null)
            SetNativeEnvironment("OMP_WAIT_POLICY", DefaultWaitPolicy);
        var text = Environment.GetEnvironmentVariable("TLORA_NUM_THREADS");
        var threads = DefaultThreads;
        if (!string.IsNullOrWhiteSpace(text) && (!int.TryParse(text, out threads) || threads < 1))
            throw new ArgumentException($"TLORA_NUM_THREADS must be a positive integer, not '{text}'");
        if (torch.get_num_threads() != threads) torch.set_num_threads(threads);
    }

    /// <summary>Parses "cpu", "cuda" or "cuda:N". A CUDA device on a build or host without CUDA fails here, naming
    /// what to change.</summary>
    /// <exception cref="FormatException">Not a device name.</exception>
    /// <exception cref="ArgumentException">CUDA was asked for and is not available.</exception>
    public static Device ParseDevice(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = text.Trim().ToLowerInvariant();
        var device = s switch
        {
            "cpu" => torch.CPU,
            "cuda" => new Device(DeviceType.CUDA, 0),
            _ when s.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(s.AsSpan(5), out var i) && i >= 0 =>
                new Device(DeviceType.CUDA, i),
            _ => throw new FormatException($"unknown device '{text}': expected cpu, cuda or cuda:N"),
        };
        if (device.type == DeviceType.CUDA) RequireCuda(text, device.index);
        return device;
    }

    private static void RequireCuda(string text, int index)
    {
        if (Backend != "cuda")
            throw new ArgumentException($"device '{text}': CUDA is not available: this build has the CPU backend " +
                                        $"(libtorch-cpu); build with -p:{BackendProperty}=cuda on a host with an NVIDIA GPU");
        if (!torch.cuda.is_available())
            throw new ArgumentException($"device '{text}': CUDA is not available: the CUDA backend found no GPU " +
                                        "(check the NVIDIA driver and that the GPU is visible to this process)");
        if (index >= torch.cuda.device_count())
            throw new ArgumentException($"device '{text}': there are {torch.cuda.device_count()} CUDA device(s)");
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv(string name, string value, int overwrite);

    // .NET keeps its own copy of the environment on Unix: native code (libgomp) reads the C library's.
    private static void SetNativeEnvironment(string name, string value)
    {
        Environment.SetEnvironmentVariable(name, value);
        if (!OperatingSystem.IsWindows()) SetEnv(name, value, 0);
    }
}
