namespace TLoRA.Rpc;

/// <summary>A gRPC status: a code and a human-readable detail (sent percent-encoded in <c>grpc-message</c>).</summary>
/// <param name="StatusCode">The status code.</param>
/// <param name="Detail">The status message; any Unicode text.</param>
public readonly record struct Status(StatusCode StatusCode, string Detail)
{
    /// <summary>The OK status with an empty detail.</summary>
    public static readonly Status DefaultSuccess = new(StatusCode.OK, "");

    /// <summary>The detail a client sees for <see cref="StatusCode.Cancelled"/> it caused itself.</summary>
    public static readonly Status DefaultCancelled = new(StatusCode.Cancelled, "Cancelled");

    /// <inheritdoc />
    public override string ToString() => $"Status(StatusCode=\"{StatusCode}\", Detail=\"{Detail}\")";
}
