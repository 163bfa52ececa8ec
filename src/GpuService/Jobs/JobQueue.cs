namespace TLoRA.GpuService.Jobs;

/// <summary>The device's FIFO of job ids waiting to run, with a capacity (full: the caller reports RESOURCE_EXHAUSTED).</summary>
public sealed class JobQueue(int capacity)
{
    private readonly LinkedList<string> items = new();
    private readonly SemaphoreSlim available = new(0);
    private int inHand;

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "queue capacity must be positive");

    public int Count
    {
        get { lock (items) return items.Count; }
    }

    /// <summary>Jobs the engine thread has taken (<see cref="DequeueAsync"/>) and not yet started or dropped
    /// (<see cref="Handed"/>): in that moment a job is neither waiting nor running, and a service that reported only those
    /// two would look idle to a gateway placing the next job.</summary>
    public int InHand
    {
        get { lock (items) return inHand; }
    }

    /// <summary>The engine thread has started (or dropped) the job it took.</summary>
    public void Handed()
    {
        lock (items) inHand = Math.Max(0, inHand - 1);
    }

    /// <summary>Adds a job; returns its 1-based position. False when the queue is full.</summary>
    public bool TryEnqueue(string jobId, out int position)
    {
        lock (items)
        {
            if (items.Count >= Capacity)
            {
                position = 0;
                return false;
            }
            items.AddLast(jobId);
            position = items.Count;
        }
        available.Release();
        return true;
    }

    /// <summary>1-based position, or 0 when the job is not waiting.</summary>
    public int PositionOf(string jobId)
    {
        lock (items)
        {
            var i = 1;
            for (var n = items.First; n is not null; n = n.Next, i++)
                if (n.Value == jobId) return i;
            return 0;
        }
    }

    /// <summary>Removes a waiting job (cancelled before it started).</summary>
    public bool TryRemove(string jobId)
    {
        lock (items) return items.Remove(jobId);
    }

    /// <summary>Waits for the next job, which is then in hand until <see cref="Handed"/>. Removed entries are skipped.</summary>
    public async Task<string> DequeueAsync(CancellationToken cancellation)
    {
        while (true)
        {
            await available.WaitAsync(cancellation).ConfigureAwait(false);
            lock (items)
            {
                if (items.First is { } first)
                {
                    items.RemoveFirst();
                    inHand++;
                    return first.Value;
                }
            }
        }
    }

    public IReadOnlyList<string> Snapshot()
    {
        lock (items) return items.ToList();
    }
}
