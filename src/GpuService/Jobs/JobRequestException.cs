namespace TLoRA.GpuService.Jobs;

/// <summary>Why a job request was refused; the RPC layer maps it to a grpc status.</summary>
public enum JobError { InvalidArgument, NotFound, ResourceExhausted, FailedPrecondition }

/// <summary>A refused request. For invalid arguments <see cref="Field"/> names the request field.</summary>
public sealed class JobRequestException(JobError error, string message, string? field = null) : Exception(message)
{
    public JobError Error { get; } = error;
    public string? Field { get; } = field;

    public static JobRequestException Invalid(string field, string message) => new(JobError.InvalidArgument, $"{field}: {message}", field);
}
