namespace TLoRA.Engine.IO;

/// <summary>How far loading a model's weights is: <see cref="DoneBytes"/> of <see cref="TotalBytes"/> tensor bytes read
/// from its safetensors files (every component: text encoders, denoiser, VAE). Reported with 0 first, after each
/// tensor, and with the total last, on the loading thread.</summary>
public readonly record struct LoadProgress(long DoneBytes, long TotalBytes);

/// <summary>The model load running on this thread, if any: <see cref="CheckpointLoader"/> adds each tensor's bytes to
/// it, so the pipelines' component loaders need not pass a progress through every layer.</summary>
internal sealed class LoadMeter : IDisposable
{
    [ThreadStatic] private static LoadMeter? current;

    private readonly LoadMeter? previous;
    private readonly IProgress<LoadProgress> progress;
    private readonly long total;
    private long done;

    private LoadMeter(long total, IProgress<LoadProgress> progress)
    {
        this.total = total;
        this.progress = progress;
        previous = current;
        current = this;
        progress.Report(new LoadProgress(0, total));
    }

    /// <summary>Counts the loads on this thread until disposed, reporting to <paramref name="progress"/> (null: nothing).</summary>
    public static LoadMeter? Begin(long totalBytes, IProgress<LoadProgress>? progress) =>
        progress is null ? null : new LoadMeter(totalBytes, progress);

    /// <summary>One tensor of <paramref name="bytes"/> was read (nothing when no load is being measured).</summary>
    public static void Add(long bytes)
    {
        if (current is not { } meter) return;
        meter.done = Math.Min(meter.total, meter.done + bytes);
        meter.progress.Report(new LoadProgress(meter.done, meter.total));
    }

    /// <summary>Reports the whole once the load completed.</summary>
    public void Complete()
    {
        if (done == total) return;
        done = total;
        progress.Report(new LoadProgress(done, total));
    }

    public void Dispose() => current = previous;
}
