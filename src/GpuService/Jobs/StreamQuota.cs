using System.Collections.Concurrent;

namespace TLoRA.GpuService.Jobs;

/// <summary>Event streams open per owner, bounded: one more than the limit is refused (RESOURCE_EXHAUSTED naming the
/// limit) instead of holding another buffer and connection for the same owner.</summary>
public sealed class StreamQuota(int limit, string setting)
{
    private readonly ConcurrentDictionary<string, int> open = new();

    public int Limit { get; } = limit;

    /// <summary>Counts a stream of <paramref name="owner"/> until the result is disposed.</summary>
    public IDisposable Enter(string owner)
    {
        var now = open.AddOrUpdate(owner, 1, (_, n) => n + 1);
        if (now > Limit)
        {
            Leave(owner);
            throw new JobRequestException(JobError.ResourceExhausted,
                $"you have {Limit} event streams open, the limit per owner ({setting}); close one before opening another");
        }
        return new Lease(this, owner);
    }

    /// <summary>Streams of <paramref name="owner"/> open now.</summary>
    public int Open(string owner) => open.TryGetValue(owner, out var n) ? n : 0;

    private void Leave(string owner) => open.AddOrUpdate(owner, 0, (_, n) => n - 1);

    private sealed class Lease(StreamQuota quota, string owner) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0) quota.Leave(owner);
        }
    }
}
