using System.Diagnostics;
using System.Text.Json;
using TLoRA.Engine.Tests;

namespace TLoRA.GpuService.Tests;

/// <summary>A real gRPC peer (Debian's python3-grpcio, stubs generated from protos/ by protoc) drives the service.</summary>
public class PythonServiceClientTests
{
    [Fact]
    public async Task A_python_grpcio_client_lists_models_trains_inspects_and_gets_invalid_argument()
    {
        const string python = "/usr/bin/python3";
        Assert.True(File.Exists(python) && File.Exists("/usr/bin/grpc_python_plugin"),
            "needs Debian's python3-grpcio, protobuf-compiler and protobuf-compiler-grpc (bash .ci/setup installs them)");
        await using var host = await ServiceHost.StartAsync();
        var root = Path.GetDirectoryName(FixturePaths.Root)!; // tests/
        var repo = Path.GetDirectoryName(root)!;
        var address = TLoRA.Rpc.Server.RpcServerHost.GetListeningAddresses(host.App.Services)[0];
        var psi = new ProcessStartInfo(python)
        {
            ArgumentList = { Path.Combine(root, "GpuService.Tests", "peers", "tlora_client.py"), $"{address.Host}:{address.Port}",
                Path.Combine(repo, "protos"), Path.Combine(FixturePaths.Root, "concept", "toy-robot.jpg") },
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(e => e.GetProperty("case").GetString()!);
        Assert.True(process.ExitCode == 0, await stderr);
        Assert.Equal(["flux-tiny", "sdxl-tiny"], lines["models"].GetProperty("ids").EnumerateArray().Select(e => e.GetString()));
        var kinds = lines["train"].GetProperty("kinds").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal("queued", kinds[0]);
        Assert.Equal("completed", kinds[^1]);
        Assert.Equal(2, kinds.Count(k => k == "step"));
        Assert.Equal(Enumerable.Range(1, kinds.Count), lines["train"].GetProperty("sequences").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("ADAPTER_METHOD_TLORA", lines["inspect"].GetProperty("method").GetString());
        Assert.Equal(176, lines["inspect"].GetProperty("layers").GetInt32());
        Assert.Equal("INVALID_ARGUMENT", lines["bad"].GetProperty("code").GetString());
        Assert.StartsWith("image:", lines["bad"].GetProperty("details").GetString());
    }
}
