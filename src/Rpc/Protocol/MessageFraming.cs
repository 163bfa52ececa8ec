using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;

namespace TLoRA.Rpc.Protocol;

/// <summary>
/// Length-Prefixed-Message framing: a 1-byte compressed flag, a 4-byte big-endian length, then the message bytes.
/// DATA frame boundaries mean nothing; messages are cut from the accumulated byte sequence.
/// </summary>
internal static class MessageFraming
{
    /// <summary>
    /// Cuts the next message off the front of <paramref name="buffer"/>. False when the buffer does not yet hold a
    /// whole message. Throws RESOURCE_EXHAUSTED as soon as the header announces more than
    /// <paramref name="maxSize"/> bytes, before the body arrives.
    /// </summary>
    public static bool TryReadMessage(ref ReadOnlySequence<byte> buffer, int maxSize, out ReadOnlySequence<byte> message,
        out bool compressed)
    {
        message = default;
        compressed = false;
        if (buffer.Length < GrpcProtocol.MessageHeaderSize) return false;
        Span<byte> header = stackalloc byte[GrpcProtocol.MessageHeaderSize];
        buffer.Slice(0, GrpcProtocol.MessageHeaderSize).CopyTo(header);
        var flag = header[0];
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (length > (uint)maxSize)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, GrpcProtocol.MessageTooLarge(length, maxSize)));
        }
        if (flag > 1)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"Invalid compressed flag {flag} in message header."));
        }
        if (buffer.Length < GrpcProtocol.MessageHeaderSize + length) return false;
        compressed = flag == 1;
        message = buffer.Slice(GrpcProtocol.MessageHeaderSize, length);
        buffer = buffer.Slice(message.End);
        return true;
    }

    /// <summary>Writes one message (header and body) into <paramref name="writer"/>; returns the bytes written.</summary>
    public static int WriteMessage(IBufferWriter<byte> writer, IMessage message, int? maxSendSize)
    {
        var size = message.CalculateSize();
        if (maxSendSize is { } max && size > max)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"Sending message larger than max ({size} vs. {max})"));
        }
        var header = writer.GetSpan(GrpcProtocol.MessageHeaderSize);
        header[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(header[1..], (uint)size);
        writer.Advance(GrpcProtocol.MessageHeaderSize);
        if (size > 0)
        {
            var span = writer.GetSpan(size);
            if (span.Length >= size)
            {
                message.WriteTo(span[..size]);
                writer.Advance(size);
            }
            else
            {
                message.WriteTo(writer);
            }
        }
        return GrpcProtocol.MessageHeaderSize + size;
    }

    /// <summary>The status for a message whose compressed flag is set, given the call's grpc-encoding.</summary>
    public static Status CompressedMessageStatus(string? encoding) =>
        string.IsNullOrEmpty(encoding) || encoding == GrpcProtocol.IdentityEncoding
            ? new Status(StatusCode.Internal, "Compressed flag set on a message but no grpc-encoding was sent.")
            : new Status(StatusCode.Unimplemented,
                $"Unsupported grpc-encoding value '{encoding}'. Supported encodings: {GrpcProtocol.IdentityEncoding}");
}
