using Grpc.Core;

namespace TLoRA.GpuService.Service;

/// <summary>
/// Writes a sequence to a server stream, flushing only when no further item is ready at once (or every
/// <see cref="MaxBuffered"/> items): a replayed history or a burst goes out in few HTTP/2 frames, while a live
/// event, with nothing behind it, is flushed the moment it is written.
/// </summary>
public static class CoalescingStreamWriter
{
    /// <summary>Items written without a flush at most, so a long burst still reaches the client steadily.</summary>
    public const int MaxBuffered = 64;

    private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);

    public static async Task WriteAllAsync<T>(this IServerStreamWriter<T> stream, IAsyncEnumerable<T> source, CancellationToken ct)
    {
        var items = source.GetAsyncEnumerator(ct);
        await using (items.ConfigureAwait(false))
        {
            if (!await items.MoveNextAsync().ConfigureAwait(false)) return;
            var buffered = 0;
            while (true)
            {
                var current = items.Current;
                var next = items.MoveNextAsync();
                // the next item is already here: this one may wait in the buffer for it
                var ready = next.IsCompletedSuccessfully;
                var more = ready && next.Result;
                var hold = more && ++buffered < MaxBuffered;
                if (!hold) buffered = 0;
                stream.WriteOptions = hold ? Buffered : null;
                await stream.WriteAsync(current, ct).ConfigureAwait(false);
                if (ready ? !more : !await next.ConfigureAwait(false)) return;
            }
        }
    }
}
