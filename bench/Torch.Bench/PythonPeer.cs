using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace TLoRA.Torch.Bench;

/// <summary>
/// bench/python/dispatch_bench.py running as <c>--json --serve</c>: the harness asks it for a warm-up and then for one
/// timed repetition at a time, alternating with its own C# repetitions of the same workload, so that a burst of
/// background load hits both columns alike. The script times each repetition itself (time.perf_counter_ns around the
/// loop), so the pipe round trip is not part of any number.
/// </summary>
internal sealed class PythonPeer : IDisposable
{
    private const string ScriptRelative = "bench/python/dispatch_bench.py";
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromMinutes(5);

    private readonly Process process;
    private readonly StringBuilder stderr = new();

    public string TorchVersion { get; }
    public string PythonVersion { get; }
    public int Threads { get; }
    /// <summary>Why the peer stopped answering (null while it works).</summary>
    public string? Problem { get; private set; }
    public bool Alive => Problem is null;

    private PythonPeer(Process process, string torchVersion, string pythonVersion, int threads)
    {
        this.process = process;
        TorchVersion = torchVersion;
        PythonVersion = pythonVersion;
        Threads = threads;
    }

    /// <summary>--python-script, else the repository's copy found by walking up from the binary (then from the working
    /// directory), else the copy placed next to the binary by the build.</summary>
    public static string? LocateScript(string? explicitPath)
    {
        if (explicitPath is not null) return File.Exists(explicitPath) ? Path.GetFullPath(explicitPath) : null;
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, ScriptRelative);
                if (File.Exists(candidate)) return candidate;
            }
        }
        var copied = Path.Combine(AppContext.BaseDirectory, "python", "dispatch_bench.py");
        return File.Exists(copied) ? copied : null;
    }

    /// <summary>Starts the script; null (with the reason) when the interpreter is missing or cannot import torch.</summary>
    public static PythonPeer? Start(string pythonExe, string script, int threads, out string? problem)
    {
        var psi = new ProcessStartInfo(pythonExe)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
        };
        foreach (var a in new[] { script, "--json", "--serve", "--threads", threads.ToString(CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        // The environment (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MALLOC_*, ...) is inherited. Debian's python3-torch calls
        // the generic libblas.so.3 (the reference BLAS unless an optimised one is selected system-wide): with
        // libopenblas0-pthread installed it is pointed at OpenBLAS, as the retired engine was, unless the caller chose.
        const string openBlas = "/usr/lib/x86_64-linux-gnu/openblas-pthread";
        if (Directory.Exists(openBlas) && Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") is null)
        {
            psi.Environment["LD_LIBRARY_PATH"] = openBlas;
            if (!psi.Environment.ContainsKey("OPENBLAS_NUM_THREADS")) psi.Environment["OPENBLAS_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        }

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new Win32Exception("Process.Start returned null");
        }
        catch (Win32Exception e)
        {
            problem = $"could not start {pythonExe}: {e.Message}";
            return null;
        }

        var err = new StringBuilder();
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (err) err.AppendLine(e.Data); };
        process.BeginErrorReadLine();

        var header = ReadJson(process, err, out problem);
        if (header is null)
        {
            Stop(process);
            return null;
        }
        using (header)
        {
            var root = header.RootElement;
            if (root.TryGetProperty("error", out var e))
            {
                problem = e.GetString() ?? "unknown error";
                Stop(process);
                return null;
            }
            var peer = new PythonPeer(process, root.GetProperty("torch_version").GetString() ?? "?",
                root.GetProperty("python").GetString() ?? "?", root.GetProperty("threads").GetInt32());
            lock (err) peer.stderr.Append(err);
            process.ErrorDataReceived += (_, e2) => { if (e2.Data is not null) lock (peer.stderr) peer.stderr.AppendLine(e2.Data); };
            return peer;
        }
    }

    public bool Warmup(string name, int iters, double seconds)
    {
        using var r = Ask(new { op = "warmup", name, iters, seconds });
        return r is not null;
    }

    /// <summary>One timed repetition: µs per iteration, or null once the peer has failed.</summary>
    public double? Rep(string name, int iters)
    {
        using var r = Ask(new { op = "rep", name, iters });
        return r is not null && r.RootElement.TryGetProperty("us", out var us) ? us.GetDouble() : null;
    }

    /// <summary>CPU time the script has used so far, in clock ticks (for the background-load estimate).</summary>
    public long CpuTicks() => LoadMonitor.ProcessTicks(process.Id);

    private JsonDocument? Ask(object request)
    {
        if (!Alive) return null;
        try
        {
            process.StandardInput.WriteLine(JsonSerializer.Serialize(request));
            process.StandardInput.Flush();
        }
        catch (IOException e)
        {
            Problem = $"the script stopped ({e.Message}){StderrTail()}";
            return null;
        }
        var doc = ReadJson(process, stderr, out var problem);
        if (doc is null)
        {
            Problem = problem;
            return null;
        }
        if (doc.RootElement.TryGetProperty("error", out var err))
        {
            Problem = $"the script answered {JsonSerializer.Serialize(request)} with: {err.GetString()}";
            doc.Dispose();
            return null;
        }
        return doc;
    }

    private static JsonDocument? ReadJson(Process process, StringBuilder err, out string? problem)
    {
        problem = null;
        while (true)
        {
            string? line;
            try
            {
                line = process.StandardOutput.ReadLineAsync().WaitAsync(ReplyTimeout).GetAwaiter().GetResult();
            }
            catch (TimeoutException)
            {
                problem = $"no answer from the script within {ReplyTimeout.TotalMinutes} minutes";
                return null;
            }
            if (line is null)
            {
                process.WaitForExit(5000);
                string tail;
                lock (err) tail = Tail(err.ToString());
                problem = $"the script exited{(process.HasExited ? $" with {process.ExitCode}" : "")} without answering{tail}";
                return null;
            }
            line = line.Trim();
            if (!line.StartsWith('{')) continue;  // stray prints
            try
            {
                return JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                problem = $"could not read the script's JSON ({e.Message})";
                return null;
            }
        }
    }

    private string StderrTail()
    {
        lock (stderr) return Tail(stderr.ToString());
    }

    private static string Tail(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(5).ToList();
        return lines.Count == 0 ? "" : ": " + string.Join(" | ", lines);
    }

    private static void Stop(Process p)
    {
        try
        {
            if (!p.HasExited)
            {
                p.StandardInput.Close();
                if (!p.WaitForExit(5000)) p.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException) { }
        catch (IOException) { }
        p.Dispose();
    }

    public void Dispose() => Stop(process);
}
