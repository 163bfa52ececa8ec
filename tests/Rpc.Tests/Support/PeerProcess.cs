using System.Diagnostics;
using System.Text.Json;

namespace TLoRA.Rpc.Tests.Support;

/// <summary>Runs a peer (python, node) as a child process with a bounded time; collects its JSON lines.</summary>
public sealed class PeerProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<JsonElement> _lines = [];
    private readonly List<string> _stderr = [];
    private readonly List<string> _rawStdout = [];
    private readonly object _gate = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private event Action? LineArrived;

    private PeerProcess(Process process) => _process = process;

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>.</summary>
    public static PeerProcess Start(string fileName, IEnumerable<string> arguments, string workingDirectory)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // kept open: a peer server exits when it closes
            UseShellExecute = false,
        };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        info.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        info.Environment["PYTHONIOENCODING"] = "utf-8";
        var peer = new PeerProcess(new Process { StartInfo = info, EnableRaisingEvents = true });
        peer._process.OutputDataReceived += (_, e) => peer.OnStdout(e.Data);
        peer._process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (peer._gate) peer._stderr.Add(e.Data);
        };
        peer._process.Exited += (_, _) => peer._exited.TrySetResult();
        peer._process.Start();
        peer._process.BeginOutputReadLine();
        peer._process.BeginErrorReadLine();
        return peer;
    }

    public IReadOnlyList<JsonElement> Lines
    {
        get { lock (_gate) return [.. _lines]; }
    }

    /// <summary>Stdout and stderr, for failure messages.</summary>
    public string Transcript
    {
        get { lock (_gate) return "stdout:\n" + string.Join("\n", _rawStdout) + "\nstderr:\n" + string.Join("\n", _stderr); }
    }

    /// <summary>Waits for the process to exit; kills it (whole tree) and fails after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _exited.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Kill();
            throw new TimeoutException($"Peer {_process.StartInfo.FileName} did not finish within {timeout}.\n{Transcript}");
        }
        await _process.WaitForExitAsync();
        return _process.ExitCode;
    }

    /// <summary>Waits for a JSON line satisfying <paramref name="predicate"/>.</summary>
    public async Task<JsonElement> WaitForLineAsync(Func<JsonElement, bool> predicate, TimeSpan timeout)
    {
        var found = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check()
        {
            foreach (var line in Lines)
            {
                if (predicate(line)) found.TrySetResult(line);
            }
            if (_exited.Task.IsCompleted) found.TrySetException(new InvalidOperationException($"Peer exited.\n{Transcript}"));
        }
        LineArrived += Check;
        _ = _exited.Task.ContinueWith(_ => Check(), TaskScheduler.Default);
        try
        {
            Check();
            return await found.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No such line from the peer within {timeout}.\n{Transcript}");
        }
        finally
        {
            LineArrived -= Check;
        }
    }

    private void OnStdout(string? data)
    {
        if (data is null) return;
        lock (_gate)
        {
            _rawStdout.Add(data);
            if (data.StartsWith('{'))
            {
                try
                {
                    _lines.Add(JsonDocument.Parse(data).RootElement.Clone());
                }
                catch (JsonException)
                {
                    // not one of the peer's report lines
                }
            }
        }
        LineArrived?.Invoke();
    }

    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
