using System.Collections.Concurrent;

namespace TLoRA.Rpc.Tests.Support;

/// <summary>What the Echo handlers saw, by request tag: started, then "completed" or "cancelled".</summary>
public sealed class EchoProbe
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _started = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<string>> _outcomes = new();

    public void Started(string tag) => Get(_started, tag).TrySetResult();

    public void Finished(string tag, string outcome) => Get(_outcomes, tag).TrySetResult(outcome);

    public Task WaitStartedAsync(string tag, TimeSpan timeout) => Get(_started, tag).Task.WaitAsync(timeout);

    /// <summary>The handler's outcome for <paramref name="tag"/>; throws TimeoutException when it never ended.</summary>
    public Task<string> WaitOutcomeAsync(string tag, TimeSpan timeout) => Get(_outcomes, tag).Task.WaitAsync(timeout);

    private static TaskCompletionSource Get(ConcurrentDictionary<string, TaskCompletionSource> map, string tag) =>
        map.GetOrAdd(tag, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    private static TaskCompletionSource<string> Get(ConcurrentDictionary<string, TaskCompletionSource<string>> map, string tag) =>
        map.GetOrAdd(tag, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));
}
