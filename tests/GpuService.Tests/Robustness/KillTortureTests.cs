using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Grpc.Core;
using Grpc.Net.Client;
using TLoRA.Contracts.V1;
using TLoRA.Engine.IO;
using TLoRA.Engine.Tests;
using Xunit.Abstractions;

namespace TLoRA.GpuService.Tests.Robustness;

/// <summary>
/// Issue 14 item 10: `kill -9` of the real service process at random moments of a training job (right after a step
/// that saves a checkpoint, i.e. while it is written; while its previews render; at a random time), about ten times.
/// After every restart: the store opens, the job is interrupted with a gap-free event history and resumes; every
/// checkpoint on disk has its event and downloads with the hash of its file; every announced checkpoint downloads.
/// </summary>
public class KillTortureTests(ITestOutputHelper output)
{
    private const int Kills = 10;

    [Fact]
    public async Task Ten_kills_lose_no_checkpoint_and_leave_a_gap_free_history()
    {
        using var data = new TempDir();
        var random = new Random(14);
        var request = JobSystem.TinyTrain(steps: 60, interval: 3);
        request.PreviewSteps = 3;
        string? jobId = null;
        var kinds = new List<string>();
        for (var round = 0; round <= Kills; round++)
        {
            using var service = ServiceProcess.Start(data.Path);
            var client = await service.ConnectAsync();
            if (jobId is null)
            {
                jobId = (await client.SubmitTrainAsync(request)).JobId;
            }
            else
            {
                var job = await client.GetJobAsync(new GetJobRequest { JobId = jobId });
                if (job.State == JobState.Completed) break;
                Assert.Equal(JobState.Interrupted, job.State);
                await CheckConsistentAsync(client, data.Path, jobId);
                await client.ResumeJobAsync(new ResumeJobRequest { JobId = jobId });
            }
            if (round == Kills)
            {
                var end = await EventsAsync(client, jobId, 1, TimeSpan.FromMinutes(5));
                Assert.Equal(JobEvent.EventOneofCase.TrainCompleted, end[^1].EventCase);
                break;
            }
            // follow live events and pick the moment: 0 = while a checkpoint is written, 1 = while previews render, 2 = any time
            var kind = random.Next(3);
            var last = (await client.GetJobAsync(new GetJobRequest { JobId = jobId })).LastSequence;
            using var watch = client.WatchJob(new WatchJobRequest { JobId = jobId, FromSequence = last + 1 });
            var deadline = Stopwatch.StartNew();
            var randomDelay = TimeSpan.FromMilliseconds(random.Next(100, 1500));
            var killed = false;
            while (!killed && await watch.ResponseStream.MoveNext())
            {
                var e = watch.ResponseStream.Current;
                var trigger = kind switch
                {
                    0 => e.TrainStep is { } s && s.Step % request.CheckpointInterval == 0,
                    1 => e.TrainPreviews is { DenoisingStep: 2 },
                    _ => deadline.Elapsed > randomDelay,
                };
                if (e.EventCase == JobEvent.EventOneofCase.TrainCompleted) break;
                if (!trigger) continue;
                if (kind == 0) Thread.Sleep(random.Next(0, 15));
                service.Kill();
                killed = true;
                kinds.Add($"{(kind == 0 ? "checkpoint write" : kind == 1 ? "previews" : "random")} at #{e.Sequence}");
            }
            if (!killed) break;
        }
        output.WriteLine($"kills: {kinds.Count}: {string.Join("; ", kinds)}");
        Assert.True(kinds.Count >= Kills / 2, $"only {kinds.Count} kills happened before the job ended");
        using (var final = ServiceProcess.Start(data.Path))
        {
            var client = await final.ConnectAsync();
            var job = await client.GetJobAsync(new GetJobRequest { JobId = jobId });
            if (job.State == JobState.Interrupted)
            {
                await client.ResumeJobAsync(new ResumeJobRequest { JobId = jobId });
                await EventsAsync(client, jobId!, 1, TimeSpan.FromMinutes(5));
            }
            Assert.Equal(JobState.Completed, (await client.GetJobAsync(new GetJobRequest { JobId = jobId })).State);
            await CheckConsistentAsync(client, data.Path, jobId!);
        }
    }

    /// <summary>History gap-free from 1; every checkpoint folder has its event and downloads with its file's hash;
    /// every announced checkpoint downloads; no folder is left half-written.</summary>
    private static async Task CheckConsistentAsync(TLoRAService.TLoRAServiceClient client, string data, string jobId)
    {
        var events = await EventsAsync(client, jobId, 1, TimeSpan.FromMinutes(1));
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        var announced = events.Where(e => e.TrainCheckpoint is not null).Select(e => e.TrainCheckpoint.AdapterId).ToHashSet();
        var folder = Path.Combine(data, "jobs", jobId, "run", "checkpoints");
        var onDisk = Directory.Exists(folder) ? Directory.EnumerateDirectories(folder).Select(Path.GetFileName).ToList() : [];
        Assert.All(onDisk, name => Assert.Matches("^step-[0-9]{6}$", name));
        foreach (var name in onDisk)
        {
            var adapterId = $"{jobId}-s{name![5..]}";
            Assert.Contains(adapterId, announced);
            var file = Path.Combine(folder, name, "adapter.safetensors");
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))), await DownloadHashAsync(client, adapterId));
            using var checkpoint = ShardedCheckpoint.Open(file); // whole: its header and every tensor are there
            Assert.NotEmpty(checkpoint.Names);
        }
        foreach (var id in announced) Assert.NotNull(await DownloadHashAsync(client, id));
    }

    private static async Task<string?> DownloadHashAsync(TLoRAService.TLoRAServiceClient client, string adapterId)
    {
        using var call = client.DownloadAdapter(new DownloadAdapterRequest { AdapterId = adapterId });
        string? sha = null;
        await foreach (var chunk in call.ResponseStream.ReadAllAsync()) if (chunk.Sha256.Length > 0) sha = chunk.Sha256;
        return sha;
    }

    private static async Task<List<JobEvent>> EventsAsync(TLoRAService.TLoRAServiceClient client, string jobId, long from, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var call = client.WatchJob(new WatchJobRequest { JobId = jobId, FromSequence = from }, cancellationToken: cts.Token);
        var list = new List<JobEvent>();
        await foreach (var e in call.ResponseStream.ReadAllAsync(cts.Token)) list.Add(e);
        return list;
    }

    /// <summary>`tlora serve` as its own process (Development: no token), on a free loopback port.</summary>
    private sealed class ServiceProcess : IDisposable
    {
        private readonly Process process;
        private readonly GrpcChannel channel;

        private ServiceProcess(Process process, int port)
        {
            this.process = process;
            channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        }

        public static ServiceProcess Start(string data)
        {
            var port = FreePort();
            var dll = Path.Combine(RepositoryRoot(), "src", "GpuService", "bin", Configuration, "net10.0", "tlora.dll");
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { dll, "serve", "--models", FixturePaths.Root, "--data", data, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
                start.ArgumentList.Add(a);
            start.Environment["DOTNET_ENVIRONMENT"] = "Development";
            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
            start.Environment["Logging__LogLevel__Default"] = "Warning";
            var p = Process.Start(start)!;
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            return new ServiceProcess(p, port);
        }

        public async Task<TLoRAService.TLoRAServiceClient> ConnectAsync()
        {
            var client = new TLoRAService.TLoRAServiceClient(channel);
            for (var i = 0; ; i++)
            {
                try
                {
                    await client.GetServiceInfoAsync(new GetServiceInfoRequest(), deadline: DateTime.UtcNow.AddSeconds(5));
                    return client;
                }
                catch (RpcException) when (i < 300 && !process.HasExited)
                {
                    await Task.Delay(100);
                }
            }
        }

        /// <summary>SIGKILL: no shutdown code runs.</summary>
        public void Kill()
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        public void Dispose()
        {
            channel.Dispose();
            if (!process.HasExited) Kill();
            process.Dispose();
        }

        private static int FreePort()
        {
            using var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            return ((IPEndPoint)l.LocalEndpoint).Port;
        }

        private static string Configuration =>
            AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";

        private static string RepositoryRoot()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "TLoRA.sln"))) return dir.FullName;
            throw new DirectoryNotFoundException("no TLoRA.sln above the tests");
        }
    }
}
