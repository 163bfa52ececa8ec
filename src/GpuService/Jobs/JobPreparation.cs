using TLoRA.Contracts.V1;
using TLoRA.Engine.Adapters;
using TLoRA.Engine.Pipelines;
using TLoRA.GpuService.Service;

namespace TLoRA.GpuService.Jobs;

/// <summary>
/// A job's <c>preparing</c> events, between leaving the queue and train_started / sample_started: loading its model
/// (when another or none is loaded) and T-LoRA's initialisation of the adapter, which on SD-XL or FLUX takes minutes on
/// a CPU and was silent. The initialisation's progress is thinned to its first and last report and, between them, one
/// per <see cref="MinSeconds"/> and per 1/<see cref="MaxUpdates"/> of the projections at most: every event is stored
/// and replayed to each watcher, so an SD-XL job sends at most ~100 of them instead of one per projection (560), and
/// one on a fast GPU host fewer still (at most two a second).
/// </summary>
internal sealed class JobPreparation(JobEventBus bus, string jobId, TimeProvider? time = null) : IProgress<InitialisationProgress>
{
    public const double MinSeconds = 0.5;
    public const int MaxUpdates = 100;

    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private long lastTimestamp;
    private int lastDone = -1;

    /// <summary>The pipeline of <paramref name="modelId"/> from <paramref name="catalog"/>, announcing the load first
    /// when the model is not the one in memory.</summary>
    public IDiffusionPipeline LoadModel(ModelCatalog catalog, string modelId)
    {
        if (!catalog.IsLoaded(modelId) && catalog.Exists(modelId)) Publish(PreparingStage.LoadingModel, 0, 0);
        return catalog.Get(modelId);
    }

    /// <summary>Called by the trainer on the engine thread as projections are initialised.</summary>
    public void Report(InitialisationProgress value)
    {
        var now = clock.GetTimestamp();
        var due = value.Done == 0 || value.Done >= value.Total
            || (clock.GetElapsedTime(lastTimestamp, now).TotalSeconds >= MinSeconds
                && (long)(value.Done - lastDone) * MaxUpdates >= value.Total);
        if (!due || value.Done == lastDone) return;
        lastTimestamp = now;
        lastDone = value.Done;
        Publish(PreparingStage.InitialisingAdapter, value.Done, value.Total);
    }

    private void Publish(PreparingStage stage, int done, int total) =>
        bus.Publish(jobId, new JobEvent { Preparing = new Preparing { Stage = stage, Done = done, Total = total } });
}
