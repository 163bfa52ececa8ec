using TLoRA.Contracts.V1;
using TLoRA.Engine.Adapters;
using TLoRA.Engine.IO;
using TLoRA.Engine.Pipelines;
using TLoRA.GpuService.Service;

namespace TLoRA.GpuService.Jobs;

/// <summary>
/// A job's <c>preparing</c> events, between leaving the queue and train_started / sample_started: loading its model
/// (when another or none is loaded; bytes of its weights read) and T-LoRA's initialisation of the adapter
/// (projections), which on SD-XL or FLUX take from seconds to minutes and were silent. Each stage is thinned to its
/// first and last report and, between them, one per <see cref="MinSeconds"/> and per 1/<see cref="MaxUpdates"/> of
/// its total at most: every event is stored and replayed to each watcher, so an SD-XL job sends at most ~100 per stage
/// instead of one per projection (560) or per tensor (thousands), and one on a fast GPU host fewer still (at most two
/// a second).
/// </summary>
internal sealed class JobPreparation(JobEventBus bus, string jobId, TimeProvider? time = null) : IProgress<InitialisationProgress>
{
    public const double MinSeconds = 0.5;
    public const int MaxUpdates = 100;

    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private PreparingStage stage;
    private long lastTimestamp;
    private long lastDone = -1;

    /// <summary>The pipeline of <paramref name="modelId"/> from <paramref name="catalog"/>, announcing the load and how
    /// far it is when the model is not the one in memory (a model already loaded, or an unknown one, reports nothing).</summary>
    public IDiffusionPipeline LoadModel(ModelCatalog catalog, string modelId) =>
        catalog.Get(modelId, new CallerProgress<LoadProgress>(p => Thinned(PreparingStage.LoadingModel, p.DoneBytes, p.TotalBytes)));

    /// <summary>Called by the trainer on the engine thread as projections are initialised.</summary>
    public void Report(InitialisationProgress value) => Thinned(PreparingStage.InitialisingAdapter, value.Done, value.Total);

    private void Thinned(PreparingStage of, long done, long total)
    {
        if (of != stage) (stage, lastDone) = (of, -1);
        var now = clock.GetTimestamp();
        var due = done == 0 || done >= total
            || (clock.GetElapsedTime(lastTimestamp, now).TotalSeconds >= MinSeconds && (done - lastDone) * MaxUpdates >= total);
        if (!due || done == lastDone) return;
        lastTimestamp = now;
        lastDone = done;
        bus.Publish(jobId, new JobEvent { Preparing = new Preparing { Stage = of, Done = done, Total = total } });
    }
}
