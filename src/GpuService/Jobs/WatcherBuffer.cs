using System.Threading.Channels;
using TLoRA.Contracts.V1;

namespace TLoRA.GpuService.Jobs;

/// <summary>
/// The live events waiting for one watcher, bounded in bytes. A watcher that falls behind by more than the bound
/// (a client that does not read) is cut off: what waited is dropped at once and the watch ends with
/// <see cref="FellBehind"/> set, so the service never holds more than the bound per watcher.
/// </summary>
internal sealed class WatcherBuffer(long maxBytes)
{
    private readonly Channel<JobEvent> channel = Channel.CreateUnbounded<JobEvent>(new UnboundedChannelOptions { SingleReader = false });
    private long bytes;

    public bool FellBehind { get; private set; }

    public ChannelReader<JobEvent> Reader => channel.Reader;

    /// <summary>Queues an event for the watcher; past the bound, drops everything and ends the watch.</summary>
    public void Offer(JobEvent e)
    {
        if (FellBehind) return;
        if (Interlocked.Add(ref bytes, e.CalculateSize()) > maxBytes)
        {
            FellBehind = true;
            channel.Writer.TryComplete();
            while (channel.Reader.TryRead(out _))
            {
            }
            return;
        }
        channel.Writer.TryWrite(e);
    }

    /// <summary>The reader took <paramref name="e"/>.</summary>
    public void Taken(JobEvent e) => Interlocked.Add(ref bytes, -e.CalculateSize());

    public void Complete() => channel.Writer.TryComplete();
}
