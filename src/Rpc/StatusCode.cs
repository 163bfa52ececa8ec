namespace TLoRA.Rpc;

/// <summary>The 17 gRPC status codes (grpc/doc/statuscodes.md); the numeric values are the wire values.</summary>
public enum StatusCode
{
    /// <summary>Not an error.</summary>
    OK = 0,
    /// <summary>The operation was cancelled, typically by the caller.</summary>
    Cancelled = 1,
    /// <summary>Unknown error, e.g. an exception the handler did not turn into a status.</summary>
    Unknown = 2,
    /// <summary>The client specified an invalid argument.</summary>
    InvalidArgument = 3,
    /// <summary>The deadline expired before the operation could complete.</summary>
    DeadlineExceeded = 4,
    /// <summary>Some requested entity was not found.</summary>
    NotFound = 5,
    /// <summary>The entity the client attempted to create already exists.</summary>
    AlreadyExists = 6,
    /// <summary>The caller does not have permission.</summary>
    PermissionDenied = 7,
    /// <summary>Some resource has been exhausted (quota, message size, ...).</summary>
    ResourceExhausted = 8,
    /// <summary>The system is not in a state required for the operation.</summary>
    FailedPrecondition = 9,
    /// <summary>The operation was aborted (concurrency conflict).</summary>
    Aborted = 10,
    /// <summary>The operation was attempted past the valid range.</summary>
    OutOfRange = 11,
    /// <summary>The operation is not implemented or supported.</summary>
    Unimplemented = 12,
    /// <summary>Internal error: an invariant of the system or the protocol is broken.</summary>
    Internal = 13,
    /// <summary>The service is currently unavailable (transient; retry with backoff).</summary>
    Unavailable = 14,
    /// <summary>Unrecoverable data loss or corruption.</summary>
    DataLoss = 15,
    /// <summary>The request does not have valid authentication credentials.</summary>
    Unauthenticated = 16,
}
