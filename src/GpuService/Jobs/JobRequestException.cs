namespace TLoRA.GpuService.Jobs;

/// <summary>Why a job request was refused; the gRPC edge maps it to a status code.</summary>
public enum JobError { InvalidArgument, NotFound, ResourceExhausted, FailedPrecondition }

/// <summary>One bad field of a request: its proto field name and what is wrong with it.</summary>
public sealed record FieldProblem(string Field, string Description);

/// <summary>A refused request. For invalid arguments <see cref="Fields"/> names every bad request field.</summary>
public sealed class JobRequestException(JobError error, string message, IReadOnlyList<FieldProblem>? fields = null) : Exception(message)
{
    public JobError Error { get; } = error;
    public IReadOnlyList<FieldProblem> Fields { get; } = fields ?? [];

    public static JobRequestException Invalid(string field, string description) => Invalid([new FieldProblem(field, description)]);

    public static JobRequestException Invalid(IReadOnlyList<FieldProblem> problems) => new(JobError.InvalidArgument,
        problems.Count == 1 ? $"{problems[0].Field}: {problems[0].Description}"
            : $"{problems.Count} fields are invalid: " + string.Join("; ", problems.Select(p => $"{p.Field}: {p.Description}")), problems);

    public static JobRequestException NotFound(string message) => new(JobError.NotFound, message);
}
