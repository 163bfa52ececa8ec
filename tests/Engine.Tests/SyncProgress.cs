namespace TLoRA.Engine.Tests;

/// <summary>An IProgress that calls back on the reporting thread, at once (Progress&lt;T&gt; posts to a context).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
