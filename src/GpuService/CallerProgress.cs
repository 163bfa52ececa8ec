namespace TLoRA.GpuService;

/// <summary>An IProgress that calls back at once on the reporting thread (the engine's), unlike Progress&lt;T&gt;,
/// which posts to a synchronisation context: the engine's reports must be handled in order and before it goes on.</summary>
internal sealed class CallerProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
