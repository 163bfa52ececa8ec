using System.Buffers;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using TLoRA.Rpc.Protocol;

namespace TLoRA.Rpc.Server;

/// <summary>Reads the single request message of a unary or server-streaming call from the request body.</summary>
internal static class RequestReader
{
    public static async Task<IMessage> ReadSingleAsync(HttpRequest request, MessageParser parser, int maxSize,
        CancellationToken cancellationToken)
    {
        var reader = request.BodyReader;
        var encoding = request.Headers[GrpcProtocol.EncodingHeader].ToString();
        IMessage? message = null;
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            try
            {
                while (MessageFraming.TryReadMessage(ref buffer, maxSize, out var payload, out var compressed))
                {
                    if (compressed) throw new RpcException(MessageFraming.CompressedMessageStatus(encoding));
                    if (message is not null)
                    {
                        throw new RpcException(new Status(StatusCode.Internal,
                            "Additional unexpected message received for a call that takes one request."));
                    }
                    message = Parse(parser, payload);
                }
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                    {
                        throw new RpcException(new Status(StatusCode.Internal,
                            "Incomplete message: the request stream ended inside a message."));
                    }
                    return message ?? throw new RpcException(new Status(StatusCode.Internal,
                        "The request stream ended without a request message."));
                }
                if (result.IsCanceled) throw new OperationCanceledException(cancellationToken);
            }
            finally
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
    }

    private static IMessage Parse(MessageParser parser, ReadOnlySequence<byte> payload)
    {
        try
        {
            return parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException)
        {
            throw new RpcException(new Status(StatusCode.Internal, "Failed to deserialize the request message."));
        }
    }
}
