namespace TLoRA.Rpc.Tests.Support;

/// <summary>
/// Locates the real gRPC peers' runtimes. A missing runtime is a test FAILURE whose message says what to install:
/// the interop tests must never pass by not running.
/// </summary>
public static class PeerRuntimes
{
    public const string Python = "/usr/bin/python3";
    private static readonly SemaphoreSlim NpmGate = new(1, 1);
    private static readonly Lazy<string> RootPath = new(FindRoot);

    /// <summary>The repository root (where TLoRA.sln is).</summary>
    public static string RepoRoot => RootPath.Value;

    public static string Protos => Path.Combine(RepoRoot, "protos");

    public static string PythonPeers => Path.Combine(RepoRoot, "tests", "Rpc.Tests", "peers", "python");

    public static string NodePeers => Path.Combine(RepoRoot, "tests", "Rpc.Tests", "peers", "node");

    /// <summary>Debian's python3 with grpcio and protobuf, and protoc + grpc_python_plugin.</summary>
    public static async Task RequirePythonAsync()
    {
        const string install = "Install the Python gRPC peer's packages: apt-get install python3-grpcio python3-protobuf " +
            "protobuf-compiler protobuf-compiler-grpc (bash .ci/setup does it).";
        foreach (var path in new[] { Python, "/usr/bin/protoc", "/usr/bin/grpc_python_plugin" })
        {
            Assert.True(File.Exists(path), $"{path} is missing. {install}");
        }
        var (code, output) = await RunAsync(Python, ["-c", "import grpc, google.protobuf; print(grpc.__version__)"], RepoRoot,
            TimeSpan.FromSeconds(60));
        Assert.True(code == 0, $"{Python} cannot import grpc/google.protobuf: {output}\n{install}");
    }

    /// <summary>node on PATH and the peers' node_modules (npm ci from the committed package-lock.json when absent).</summary>
    public static async Task<string> RequireNodeAsync()
    {
        const string install = "Install Node.js and npm (apt-get install nodejs npm; bash .ci/setup does it).";
        var node = Which("node");
        Assert.True(node is not null, $"node is not on PATH. {install}");
        var modules = Path.Combine(NodePeers, "node_modules", "@grpc", "grpc-js", "package.json");
        if (File.Exists(modules)) return node!;
        await NpmGate.WaitAsync();
        try
        {
            if (File.Exists(modules)) return node!;
            var npm = Which("npm");
            Assert.True(npm is not null, $"npm is not on PATH and {NodePeers}/node_modules is missing. {install}");
            var (code, output) = await RunAsync(npm!, ["ci", "--no-audit", "--no-fund"], NodePeers, TimeSpan.FromMinutes(5));
            Assert.True(code == 0 && File.Exists(modules),
                $"npm ci in {NodePeers} failed (exit {code}); run it by hand (bash .ci/setup does it):\n{output}");
            return node!;
        }
        finally
        {
            NpmGate.Release();
        }
    }

    private static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    private static async Task<(int Code, string Output)> RunAsync(string file, string[] args, string cwd, TimeSpan timeout)
    {
        using var peer = PeerProcess.Start(file, args, cwd);
        var code = await peer.WaitForExitAsync(timeout);
        return (code, peer.Transcript);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TLoRA.sln"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException($"no TLoRA.sln above {AppContext.BaseDirectory}");
    }
}
