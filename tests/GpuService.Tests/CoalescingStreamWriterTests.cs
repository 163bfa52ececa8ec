using Grpc.Core;
using TLoRA.GpuService.Service;

namespace TLoRA.GpuService.Tests;

public class CoalescingStreamWriterTests
{
    /// <summary>Records each write and whether it asked for a flush.</summary>
    private sealed class Recorder : IServerStreamWriter<int>
    {
        public List<(int Item, bool Flushed)> Writes { get; } = [];
        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(int message)
        {
            Writes.Add((message, WriteOptions?.Flags.HasFlag(WriteFlags.BufferHint) != true));
            return Task.CompletedTask;
        }
    }

    private static async IAsyncEnumerable<int> Burst(int from, int count)
    {
        for (var i = from; i < from + count; i++) yield return i;
        await Task.CompletedTask;
    }

    private static async IAsyncEnumerable<int> TwoBurstsWithAPause(TaskCompletionSource pause)
    {
        await foreach (var i in Burst(0, 3)) yield return i;
        await pause.Task;
        await foreach (var i in Burst(3, 2)) yield return i;
    }

    [Fact]
    public async Task A_burst_is_flushed_once_at_its_end_and_a_waiting_stream_flushes_what_it_has()
    {
        var stream = new Recorder();
        var pause = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writing = stream.WriteAllAsync(TwoBurstsWithAPause(pause), CancellationToken.None);
        for (var i = 0; i < 100 && stream.Writes.Count < 3; i++) await Task.Delay(10);
        // while the source waits, everything written so far has been flushed
        Assert.Equal([(0, false), (1, false), (2, true)], stream.Writes);
        pause.SetResult();
        await writing;
        Assert.Equal([(0, false), (1, false), (2, true), (3, false), (4, true)], stream.Writes);
    }

    [Fact]
    public async Task A_long_burst_is_flushed_every_max_buffered_items()
    {
        var stream = new Recorder();
        var count = 2 * CoalescingStreamWriter.MaxBuffered + 5;
        await stream.WriteAllAsync(Burst(0, count), CancellationToken.None);
        Assert.Equal(Enumerable.Range(0, count), stream.Writes.Select(w => w.Item));
        Assert.Equal([CoalescingStreamWriter.MaxBuffered - 1, 2 * CoalescingStreamWriter.MaxBuffered - 1, count - 1],
            stream.Writes.Select((w, i) => (w, i)).Where(x => x.w.Flushed).Select(x => x.i));
    }

    [Fact]
    public async Task An_empty_source_writes_nothing()
    {
        var stream = new Recorder();
        await stream.WriteAllAsync(Burst(0, 0), CancellationToken.None);
        Assert.Empty(stream.Writes);
    }
}
