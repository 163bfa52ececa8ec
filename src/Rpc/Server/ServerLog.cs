using Microsoft.Extensions.Logging;

namespace TLoRA.Rpc.Server;

/// <summary>The server transport's log messages.</summary>
internal static partial class ServerLog
{
    [LoggerMessage(EventId = 1, Message = "gRPC call {Method} finished with {StatusCode} \"{Detail}\" in {ElapsedMs:0.0} ms")]
    public static partial void CallFinished(ILogger logger, LogLevel level, string method, string statusCode, string detail,
        double elapsedMs);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "gRPC handler of {Method} threw; the client gets UNKNOWN")]
    public static partial void HandlerFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information,
        Message = "Request to {Path} has content-type '{ContentType}', not application/grpc: HTTP 415")]
    public static partial void UnsupportedContentType(ILogger logger, string path, string contentType);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "gRPC request to {Path} over {Protocol}, not HTTP/2: HTTP 426")]
    public static partial void UnsupportedProtocol(ILogger logger, string path, string protocol);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "gRPC call to unknown method {Path}: UNIMPLEMENTED")]
    public static partial void Unimplemented(ILogger logger, string path);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "gRPC call {Method} has a malformed grpc-timeout '{Value}'; ignored")]
    public static partial void InvalidTimeout(ILogger logger, string method, string value);

    [LoggerMessage(EventId = 7, Level = LogLevel.Debug, Message = "Mapped gRPC method {Path} to {Handler}")]
    public static partial void MethodMapped(ILogger logger, string path, string handler);
}
