using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using TLoRA.Rpc.Bench.V1;

namespace TLoRA.Rpc.Bench;

/// <summary>The measured workloads; each prints one line.</summary>
internal sealed class Workloads(Echo.EchoClient client, BenchOptions options)
{
    private readonly EchoRequest _request = new() { Text = "bench", Payload = ByteString.CopyFrom(new byte[options.Payload]) };

    public async Task WarmUpAsync()
    {
        for (var i = 0; i < 2_000; i++) await client.SayAsync(_request);
        await DrainAsync(new StreamRequest { Count = 20_000, PayloadSize = options.Payload }, null);
        await DrainAsync(new StreamRequest { Count = 20_000, PayloadSize = options.Payload, Coalesce = true }, null);
    }

    /// <summary>Sequential unary calls: one in flight at a time.</summary>
    public async Task UnaryLatencyAsync()
    {
        var samples = new double[options.Unary];
        var total = Stopwatch.StartNew();
        for (var i = 0; i < samples.Length; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await client.SayAsync(_request);
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Print($"unary, sequential ({samples.Length} calls)", samples.Length / total.Elapsed.TotalSeconds, "calls/s", samples);
    }

    /// <summary>Unary calls with <paramref name="concurrency"/> in flight over the one channel.</summary>
    public async Task UnaryThroughputAsync(int concurrency)
    {
        var perWorker = options.Unary / concurrency;
        var total = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            var samples = new double[perWorker];
            for (var i = 0; i < perWorker; i++)
            {
                var start = Stopwatch.GetTimestamp();
                await client.SayAsync(_request);
                samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
            return samples;
        }).ToArray();
        var all = (await Task.WhenAll(workers)).SelectMany(s => s).ToArray();
        Print($"unary, {concurrency} concurrent ({all.Length} calls)", all.Length / total.Elapsed.TotalSeconds, "calls/s", all);
    }

    /// <summary>One server stream as fast as it goes; latency = server write to client read (includes queueing).
    /// <paramref name="coalesce"/>: written as the GPU service writes its event streams instead of a flush per message.</summary>
    public async Task StreamThroughputAsync(bool coalesce = false)
    {
        var samples = new double[options.Messages];
        var total = Stopwatch.StartNew();
        await DrainAsync(new StreamRequest { Count = options.Messages, PayloadSize = options.Payload, Coalesce = coalesce }, samples);
        var seconds = total.Elapsed.TotalSeconds;
        var perMessageBytes = new EchoReply { Index = options.Messages, Payload = _request.Payload, SentAtTicks = long.MaxValue }.CalculateSize() + 5;
        Print($"server stream, flat out{(coalesce ? ", coalesced" : "")} ({options.Messages} msgs)", options.Messages / seconds, "msgs/s", samples,
            $"{options.Messages * (double)perMessageBytes / seconds / 1e6:0.0} MB/s");
    }

    /// <summary>A stream paced by Task.Delay(1) between events (like progress events): latency without queueing.</summary>
    public async Task PacedStreamLatencyAsync()
    {
        var count = Math.Min(2_000, options.Messages);
        var samples = new double[count];
        var total = Stopwatch.StartNew();
        await DrainAsync(new StreamRequest { Count = count, DelayMs = 1, PayloadSize = options.Payload }, samples);
        Print($"server stream, paced by Task.Delay(1) ({count} msgs)", count / total.Elapsed.TotalSeconds, "msgs/s", samples);
    }

    private async Task DrainAsync(StreamRequest request, double[]? latencies)
    {
        using var call = client.Stream(request);
        var i = 0;
        await foreach (var reply in call.ResponseStream.ReadAllAsync())
        {
            if (latencies is not null) latencies[i] = Stopwatch.GetElapsedTime(reply.SentAtTicks).TotalMicroseconds;
            i++;
        }
        if (i != request.Count) throw new InvalidOperationException($"stream delivered {i} of {request.Count}");
    }

    private static void Print(string name, double rate, string unit, double[] microseconds, string extra = "")
    {
        Array.Sort(microseconds);
        double P(double q) => microseconds[Math.Min(microseconds.Length - 1, (int)(q * microseconds.Length))];
        Console.WriteLine($"{name,-42} {rate,10:0} {unit,-7} p50 {P(0.50),8:0} us  p90 {P(0.90),8:0} us  p99 {P(0.99),8:0} us  " +
                          $"max {microseconds[^1],8:0} us  {extra}");
    }
}
