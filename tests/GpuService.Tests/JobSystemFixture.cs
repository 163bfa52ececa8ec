using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Jobs;
using TLoRA.GpuService.Service;
using TLoRA.Contracts.V1;

namespace TLoRA.GpuService.Tests;

/// <summary>A job system (store, bus, queue, manager, engine thread) over the fixture models and a temp data folder.</summary>
internal sealed class JobSystem : IDisposable
{
    public JobSystem(string dataDirectory, int capacity = 8, bool start = true)
    {
        Options = new GpuServiceOptions { ModelsDirectory = FixturePaths.Root, DataDirectory = dataDirectory, QueueCapacity = capacity };
        Options.Validate();
        Paths = new JobPaths(dataDirectory);
        Store = new JobStore(Paths.Database);
        Catalog = new ModelCatalog(Options);
        Manager = new JobManager(Store, new JobEventBus(Store), new JobQueue(capacity), Options, Catalog, new ServiceIdentity("test"), Paths);
        Reconciled = DataReconciler.Reconcile(Store, Paths);
        Manager.Recover();
        Worker = new EngineWorker(Manager, Catalog, Paths, NullLogger<EngineWorker>.Instance);
        if (start) Worker.Start();
    }

    public GpuServiceOptions Options { get; }
    /// <summary>What the start-up reconciliation of the data folder fixed.</summary>
    public IReadOnlyList<string> Reconciled { get; }
    public JobPaths Paths { get; }
    public JobStore Store { get; }
    public ModelCatalog Catalog { get; }
    public JobManager Manager { get; }
    public EngineWorker Worker { get; }

    public static byte[] ConceptBytes => File.ReadAllBytes(Path.Combine(FixturePaths.Root, "concept", "toy-robot.jpg"));

    public static TrainRequest TinyTrain(int steps = 3, int interval = 2) => new()
    {
        ModelId = "sdxl-tiny", Image = ByteString.CopyFrom(ConceptBytes), Trigger = "sks", ClassWord = "robot", Rank = 4, Steps = steps,
        CheckpointInterval = interval, PreviewSteps = 2, ValidationPrompts = { "a {0} on the beach" }, Seed = 3, LearningRate = 1e-3,
    };

    /// <summary>All events of a job until its terminal one (or the timeout).</summary>
    public async Task<List<JobEvent>> WaitForEndAsync(string jobId, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(4));
        var list = new List<JobEvent>();
        await foreach (var e in Manager.Bus.Watch(jobId, 1, cts.Token)) list.Add(e);
        return list;
    }

    public void Dispose()
    {
        Worker.Dispose();
        Catalog.Dispose();
    }
}
