namespace TLoRA.Rpc.Client;

/// <summary>Per-call options.</summary>
/// <param name="Deadline">When the call must end (UTC; a local time is converted). Sent as <c>grpc-timeout</c> and
/// enforced locally: the call fails with DEADLINE_EXCEEDED and the stream is reset when it passes. Null: none.</param>
/// <param name="Headers">Custom request metadata.</param>
/// <param name="CancellationToken">Cancels the call: the stream is reset (RST_STREAM CANCEL) and the call fails
/// with CANCELLED.</param>
public readonly record struct CallOptions(DateTime? Deadline = null, Metadata? Headers = null,
    CancellationToken CancellationToken = default);

/// <summary>The outcome of a successful unary call with its metadata.</summary>
/// <param name="Response">The response message.</param>
/// <param name="ResponseHeaders">The server's custom response headers.</param>
/// <param name="Trailers">The server's custom trailers.</param>
public sealed record UnaryResult<TResponse>(TResponse Response, Metadata ResponseHeaders, Metadata Trailers);
