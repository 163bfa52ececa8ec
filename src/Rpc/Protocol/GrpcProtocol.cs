namespace TLoRA.Rpc.Protocol;

/// <summary>Header names and constants of gRPC over HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md).</summary>
internal static class GrpcProtocol
{
    public const string ContentType = "application/grpc";
    public const string StatusHeader = "grpc-status";
    public const string MessageHeader = "grpc-message";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    public const string IdentityEncoding = "identity";
    public const string UserAgent = "grpc-dotnet-tlora/1.0";

    /// <summary>The size of the Length-Prefixed-Message header: compressed flag + 4-byte big-endian length.</summary>
    public const int MessageHeaderSize = 5;

    /// <summary>The default maximum size of a received message (4 MiB, like every gRPC implementation).</summary>
    public const int DefaultMaxReceiveMessageSize = 4 * 1024 * 1024;

    /// <summary>
    /// True for "application/grpc" and "application/grpc+{subtype}" (e.g. +proto), with optional parameters.
    /// </summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType)) return false;
        var span = contentType.AsSpan();
        var semi = span.IndexOf(';');
        if (semi >= 0) span = span[..semi];
        span = span.Trim();
        if (!span.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase)) return false;
        return span.Length == ContentType.Length || span[ContentType.Length] == '+';
    }

    /// <summary>
    /// Headers that belong to the protocol rather than the application: never surfaced as custom metadata, and never
    /// sent from custom metadata.
    /// </summary>
    public static bool IsReservedHeader(string name) =>
        name.Length == 0 || name[0] == ':' ||
        name.Equals("content-type", StringComparison.OrdinalIgnoreCase) ||
        name.Equals("content-length", StringComparison.OrdinalIgnoreCase) ||
        name.Equals("te", StringComparison.OrdinalIgnoreCase) ||
        name.Equals("host", StringComparison.OrdinalIgnoreCase) ||
        name.Equals("connection", StringComparison.OrdinalIgnoreCase) ||
        name.Equals("transfer-encoding", StringComparison.OrdinalIgnoreCase) ||
        name.Equals(TimeoutHeader, StringComparison.OrdinalIgnoreCase) ||
        name.Equals(EncodingHeader, StringComparison.OrdinalIgnoreCase) ||
        name.Equals(AcceptEncodingHeader, StringComparison.OrdinalIgnoreCase) ||
        name.Equals(StatusHeader, StringComparison.OrdinalIgnoreCase) ||
        name.Equals(MessageHeader, StringComparison.OrdinalIgnoreCase);

    /// <summary>The detail of the RESOURCE_EXHAUSTED status for an oversized message (grpc-core's wording).</summary>
    public static string MessageTooLarge(long size, int limit) =>
        $"Received message larger than max ({size} vs. {limit})";
}
