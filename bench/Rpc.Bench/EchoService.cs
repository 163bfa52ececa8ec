using System.Diagnostics;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using TLoRA.GpuService.Service;
using TLoRA.Rpc.Bench.V1;

namespace TLoRA.Rpc.Bench;

/// <summary>The measured service: replies as fast as it can, stamping each with the server's clock.</summary>
internal sealed class EchoService : Echo.EchoBase
{
    public override Task<EchoReply> Say(EchoRequest request, ServerCallContext context) =>
        Task.FromResult(new EchoReply { Text = request.Text, Payload = request.Payload, SentAtTicks = Stopwatch.GetTimestamp() });

    public override async Task Stream(StreamRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        if (request.Coalesce)
        {
            await responseStream.WriteAllAsync(Replies(request, context.CancellationToken), context.CancellationToken);
            return;
        }
        await foreach (var reply in Replies(request, context.CancellationToken)) await responseStream.WriteAsync(reply, context.CancellationToken);
    }

    private static async IAsyncEnumerable<EchoReply> Replies(StreamRequest request, [EnumeratorCancellation] CancellationToken ct)
    {
        var payload = ByteString.CopyFrom(new byte[request.PayloadSize]);
        for (var i = 0; i < request.Count; i++)
        {
            if (request.DelayMs > 0) await Task.Delay(request.DelayMs, ct);
            yield return new EchoReply { Text = request.Text, Index = i, Payload = payload, SentAtTicks = Stopwatch.GetTimestamp() };
        }
    }
}
