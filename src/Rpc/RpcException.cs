namespace TLoRA.Rpc;

/// <summary>
/// A call that ended with a non-OK status. Server handlers throw it to fail a call with that status; the client
/// throws it when a call ends with a non-OK status (the server's, or one synthesised locally: deadline, cancellation,
/// transport failure).
/// </summary>
public class RpcException : Exception
{
    /// <summary>Creates the exception for <paramref name="status"/>.</summary>
    public RpcException(Status status) : this(status, new Metadata(), null) { }

    /// <summary>Creates the exception for <paramref name="status"/> with response trailers.</summary>
    public RpcException(Status status, Metadata trailers) : this(status, trailers, null) { }

    /// <summary>Creates the exception for <paramref name="status"/> with trailers and a message for logs.</summary>
    public RpcException(Status status, Metadata trailers, string? message)
        : base(message ?? status.ToString())
    {
        Status = status;
        Trailers = trailers;
    }

    /// <summary>The status of the call.</summary>
    public Status Status { get; }

    /// <summary>The status code (shortcut for <c>Status.StatusCode</c>).</summary>
    public StatusCode StatusCode => Status.StatusCode;

    /// <summary>
    /// On the client: the trailers the server sent (empty for locally generated statuses). On the server: trailers to
    /// send with the error status, in addition to <c>ServerCallContext.ResponseTrailers</c>.
    /// </summary>
    public Metadata Trailers { get; }
}
