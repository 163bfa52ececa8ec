using System.Diagnostics;

namespace TLoRA.Gateway.Tests;

/// <summary>Runs the node scripts in tests/Gateway.Tests/peers. A missing node runtime or missing node_modules fails
/// the test with what to install; it never passes silently.</summary>
internal static class NodePeer
{
    public static string PeersDirectory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "Gateway.Tests", "peers");
                if (File.Exists(Path.Combine(candidate, "package.json"))) return candidate;
            }
            throw new DirectoryNotFoundException($"no tests/Gateway.Tests/peers above {AppContext.BaseDirectory}");
        }
    }

    public static string FindNode()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var path = Path.Combine(dir, "node");
            if (File.Exists(path)) return path;
        }
        Assert.Fail("node is not on PATH: install Node.js ≥ 18 and npm (Debian: apt-get install nodejs npm), then run `npm ci` in tests/Gateway.Tests/peers (bash .ci/setup does both)");
        return "";
    }

    /// <summary>Runs <c>node script args</c> in the peers folder; returns its exit code and stdout lines.</summary>
    public static Task<(int ExitCode, List<string> Lines, string Errors)> RunAsync(string script, TimeSpan timeout, params string[] args) =>
        RunAsync(script, timeout, null, args);

    /// <summary>As the other overload; <paramref name="onLine"/> (when given) sees each stdout line as it arrives and may
    /// answer on the script's stdin. If it throws, the script is killed and the exception is rethrown.</summary>
    public static Task<(int ExitCode, List<string> Lines, string Errors)> RunAsync(string script, TimeSpan timeout,
        Func<string, TextWriter, Task>? onLine, params string[] args) => RunAsAsync(script, timeout, onLine, null, args);

    /// <summary>As the other overloads, authenticating with <paramref name="accessToken"/> (alice's key when null).</summary>
    public static async Task<(int ExitCode, List<string> Lines, string Errors)> RunAsAsync(string script, TimeSpan timeout,
        Func<string, TextWriter, Task>? onLine, string? accessToken, params string[] args)
    {
        var node = FindNode();
        var peers = PeersDirectory;
        if (!Directory.Exists(Path.Combine(peers, "node_modules", "@microsoft", "signalr")))
            Assert.Fail($"@microsoft/signalr is not installed: run `npm ci` in {peers} (bash .ci/setup does it)");
        var start = new ProcessStartInfo(node)
        {
            WorkingDirectory = peers, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = onLine is not null,
        };
        // the scripts authenticate with this key (SignalR sends it as access_token on the WebSocket)
        start.Environment["TLORA_ACCESS_TOKEN"] = accessToken ?? TestKeys.Alice;
        start.ArgumentList.Add(script);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var lines = new List<string>();
        var stdout = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (lines) lines.Add(line);
                if (onLine is null) continue;
                try
                {
                    await onLine(line, process.StandardInput);
                }
                catch
                {
                    process.Kill(entireProcessTree: true);
                    throw;
                }
            }
        });
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"node {script} did not finish within {timeout}; output so far:\n{string.Join('\n', lines)}\n{await stderr}");
        }
        await stdout;
        return (process.ExitCode, lines, await stderr);
    }
}
