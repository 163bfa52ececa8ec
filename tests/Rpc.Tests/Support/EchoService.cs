using System.Diagnostics;
using Google.Protobuf;
using TLoRA.Rpc.Server;
using TLoRA.Testing.V1;

namespace TLoRA.Rpc.Tests.Support;

/// <summary>The tlora.testing.v1.Echo implementation the tests, the peers and the benchmark call.</summary>
public sealed class EchoService(EchoProbe probe)
{
    /// <summary>Text of the exception Fail throws; it must never reach a client.</summary>
    public const string SecretExceptionText = "secret internal detail: db password hunter2";

    public async Task<EchoReply> Say(EchoRequest request, ServerCallContext context)
    {
        var echo = context.RequestHeaders.GetValue("x-echo");
        var echoBin = context.RequestHeaders.GetValueBytes("x-echo-bin");
        if (echo is not null || echoBin is not null)
        {
            var headers = new Metadata();
            if (echo is not null)
            {
                headers.Add("x-echo", echo);
                context.ResponseTrailers.Add("x-echo", echo);
            }
            if (echoBin is not null)
            {
                headers.Add("x-echo-bin", echoBin);
                context.ResponseTrailers.Add("x-echo-bin", echoBin);
            }
            await context.WriteResponseHeadersAsync(headers);
        }
        return new EchoReply { Text = request.Text, Payload = request.Payload, SentAtTicks = Stopwatch.GetTimestamp() };
    }

    public async Task Stream(StreamRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        var payload = request.PayloadSize > 0 ? ByteString.CopyFrom(new byte[request.PayloadSize]) : ByteString.Empty;
        for (var i = 0; i < request.Count; i++)
        {
            if (request.DelayMs > 0) await Task.Delay(request.DelayMs, context.CancellationToken);
            await responseStream.WriteAsync(new EchoReply
            {
                Text = request.Text,
                Index = i,
                Payload = payload,
                SentAtTicks = Stopwatch.GetTimestamp(),
            }, context.CancellationToken);
        }
    }

    public Task<EchoReply> Fail(FailRequest request, ServerCallContext context)
    {
        if (request.ThrowException) throw new InvalidOperationException(SecretExceptionText);
        throw new RpcException(new Status((StatusCode)request.Code, request.Message));
    }

    public async Task<EchoReply> Slow(SlowRequest request, ServerCallContext context)
    {
        var tag = request.Tag;
        probe.Started(tag);
        try
        {
            await Task.Delay(request.DelayMs, context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            probe.Finished(tag, "cancelled");
            throw;
        }
        probe.Finished(tag, "completed");
        return new EchoReply { Text = tag };
    }
}
