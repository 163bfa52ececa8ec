using Microsoft.AspNetCore.Http;

namespace TLoRA.Rpc.Server;

/// <summary>The per-call context handed to every handler (the grpc-dotnet shape).</summary>
public sealed class ServerCallContext
{
    private readonly Func<Metadata, Task> _writeResponseHeaders;

    internal ServerCallContext(string method, string host, string peer, DateTime? deadline, Metadata requestHeaders,
        CancellationToken cancellationToken, HttpContext? httpContext, Func<Metadata, Task> writeResponseHeaders)
    {
        Method = method;
        Host = host;
        Peer = peer;
        Deadline = deadline;
        RequestHeaders = requestHeaders;
        CancellationToken = cancellationToken;
        HttpContext = httpContext;
        _writeResponseHeaders = writeResponseHeaders;
    }

    /// <summary>The full method path, e.g. <c>/tlora.testing.v1.Echo/Say</c>.</summary>
    public string Method { get; }

    /// <summary>The :authority the client called.</summary>
    public string Host { get; }

    /// <summary>The client's address in gRPC's form, e.g. <c>ipv4:127.0.0.1:53412</c> or <c>ipv6:[::1]:53412</c>.</summary>
    public string Peer { get; }

    /// <summary>The call's deadline (UTC) from the client's <c>grpc-timeout</c>; null when it sent none.</summary>
    public DateTime? Deadline { get; }

    /// <summary>The client's custom metadata; "-bin" entries already base64-decoded.</summary>
    public Metadata RequestHeaders { get; }

    /// <summary>Custom metadata sent in the trailers with the status (also on errors).</summary>
    public Metadata ResponseTrailers { get; } = new();

    /// <summary>
    /// Fires when the client cancels (RST_STREAM), the deadline passes, or the server shuts down.
    /// </summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The underlying ASP.NET Core request; null in contexts made by <see cref="ForTest"/>.</summary>
    public HttpContext? HttpContext { get; }

    /// <summary>Sends the response headers now, with <paramref name="responseHeaders"/> as custom metadata. At most
    /// once, before the first message.</summary>
    public Task WriteResponseHeadersAsync(Metadata responseHeaders) => _writeResponseHeaders(responseHeaders);

    /// <summary>A context for calling a service implementation directly in unit tests (no transport).</summary>
    public static ServerCallContext ForTest(string method = "/test/Method", CancellationToken cancellationToken = default,
        DateTime? deadline = null, Metadata? requestHeaders = null, string peer = "ipv4:127.0.0.1:0") =>
        new(method, "localhost", peer, deadline, requestHeaders ?? new Metadata(), cancellationToken, null,
            _ => Task.CompletedTask);
}
