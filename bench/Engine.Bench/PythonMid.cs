using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TLoRA.Engine.Bench;

/// <summary>One PyTorch run of a config's peer script (bench/python/mid_train_step.py for mid,
/// flux_mid_train_step.py for flux-mid: the config's training step in Debian's PyTorch).</summary>
internal sealed record PythonMidResult
{
    /// <summary>The bench config the run stands beside (set by the parent, not in the script's JSON).</summary>
    [JsonIgnore] public string Config { get; init; } = "";
    [JsonPropertyName("torch")] public string Torch { get; init; } = "";
    [JsonPropertyName("method")] public string Method { get; init; } = "";
    [JsonPropertyName("threads")] public int Threads { get; init; }
    [JsonPropertyName("unet_parameters")] public long UnetParameters { get; init; }
    [JsonPropertyName("transformer_parameters")] public long TransformerParameters { get; init; }
    /// <summary>The frozen denoiser's parameters: the UNet's (mid) or the transformer's (flux-mid).</summary>
    [JsonIgnore] public long DenoiserParameters => UnetParameters != 0 ? UnetParameters : TransformerParameters;
    [JsonPropertyName("trainable_parameters")] public long TrainableParameters { get; init; }
    [JsonPropertyName("step_ms")] public double[] StepMs { get; init; } = [];
    [JsonPropertyName("loss_ms")] public double[] LossMs { get; init; } = [];
    [JsonPropertyName("backward_ms")] public double[] BackwardMs { get; init; } = [];
    [JsonPropertyName("optimizer_ms")] public double[] OptimizerMs { get; init; } = [];
}

/// <summary>
/// Starts the PyTorch peer of a config's training step (mid, flux-mid). Debian 12's python3-torch (1.13) calls the generic libblas.so.3,
/// which is the reference BLAS unless an optimised one is selected system-wide; when libopenblas0-pthread is installed
/// the peer is pointed at it (LD_LIBRARY_PATH, OPENBLAS_NUM_THREADS = the bench's threads), as the old engine had it,
/// so the ratio compares libraries of the same class rather than against netlib's loops.
/// </summary>
internal static class PythonMid
{
    public const string OpenBlasFolder = "/usr/lib/x86_64-linux-gnu/openblas-pthread";

    /// <summary>The peer script of <paramref name="config"/> in bench/python, or null when the config has none.</summary>
    public static string? ScriptName(string config) => config switch
    {
        "mid" => "mid_train_step.py",
        "flux-mid" => "flux_mid_train_step.py",
        _ => null,
    };

    /// <summary>bench/python/<paramref name="scriptName"/>, looked for above the binary, then above the working directory.</summary>
    public static string? FindScript(string scriptName)
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "bench", "python", scriptName);
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }

    /// <summary>Runs one method; (result, null) or (null, why not).</summary>
    public static (PythonMidResult? Result, string? Error) Run(string python, string script, string method, int rank, int steps, int warmup, int threads)
    {
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, "--method", method, "--rank", I(rank), "--steps", I(steps), "--warmup", I(warmup), "--threads", I(threads), "--json" })
            psi.ArgumentList.Add(a);
        if (Directory.Exists(OpenBlasFolder))
        {
            psi.Environment["LD_LIBRARY_PATH"] = OpenBlasFolder;
            psi.Environment["OPENBLAS_NUM_THREADS"] = I(threads);
        }
        try
        {
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            var line = output.Split('\n').LastOrDefault(l => l.StartsWith('{'));
            if (p.ExitCode != 0 || line is null)
                return (null, $"exit {p.ExitCode}: {err.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()}");
            return (JsonSerializer.Deserialize<PythonMidResult>(line), null);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (null, $"{python}: {e.Message}");
        }
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
}
