using System.Net;

namespace TLoRA.Rpc.Client;

/// <summary>Synthesised statuses for responses and failures that carry no grpc-status.</summary>
internal static class StatusMapping
{
    /// <summary>grpc/doc/http-grpc-status-mapping.md: a non-200 HTTP status without grpc-status.</summary>
    public static Status FromHttpStatus(HttpStatusCode http)
    {
        var code = (int)http switch
        {
            400 => StatusCode.Internal,
            401 => StatusCode.Unauthenticated,
            403 => StatusCode.PermissionDenied,
            404 => StatusCode.Unimplemented,
            429 or 502 or 503 or 504 => StatusCode.Unavailable,
            _ => StatusCode.Unknown,
        };
        return new Status(code, $"Bad gRPC response. HTTP status code: {(int)http}");
    }

    /// <summary>A transport failure: RST_STREAM codes per PROTOCOL-HTTP2.md, connection failures UNAVAILABLE.</summary>
    public static Status FromException(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpProtocolException protocol)
            {
                var code = protocol.ErrorCode switch
                {
                    0x7 => StatusCode.Unavailable,        // REFUSED_STREAM: not processed, retryable
                    0x8 => StatusCode.Cancelled,          // CANCEL from the server
                    0xb => StatusCode.ResourceExhausted,  // ENHANCE_YOUR_CALM
                    0xc => StatusCode.PermissionDenied,   // INADEQUATE_SECURITY
                    _ => StatusCode.Internal,
                };
                return new Status(code, $"HTTP/2 error code {protocol.ErrorCode}: {protocol.Message}");
            }
        }
        return exception switch
        {
            HttpRequestException http => new Status(StatusCode.Unavailable, $"Error connecting to the server: {http.Message}"),
            IOException io => new Status(StatusCode.Unavailable, $"Connection lost: {io.Message}"),
            _ => new Status(StatusCode.Internal, $"Error in the gRPC call: {exception.GetType().Name}: {exception.Message}"),
        };
    }
}
