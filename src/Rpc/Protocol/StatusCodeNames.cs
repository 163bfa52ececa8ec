namespace TLoRA.Rpc.Protocol;

/// <summary>The canonical upper-case names of status codes ("DEADLINE_EXCEEDED"), as gRPC logs and docs write them.</summary>
internal static class StatusCodeNames
{
    private static readonly string[] Names =
    [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
        "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ];

    public static string ToCanonicalName(this StatusCode code) =>
        (uint)code < (uint)Names.Length ? Names[(int)code] : ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
