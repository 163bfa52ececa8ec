using System.Text.RegularExpressions;
using TLoRA.Gateway.Services;
using TLoRA.Rpc;

namespace TLoRA.Gateway.Api;

/// <summary>A request the gateway refuses itself; <see cref="Field"/> names the offending form field.</summary>
public sealed class ApiException(int status, string? field, string message) : Exception(field is null ? message : $"{field}: {message}")
{
    public int Status { get; } = status;
    public string? Field { get; } = field;

    public static ApiException Invalid(string field, string message) => new(StatusCodes.Status400BadRequest, field, message);
}

/// <summary>Turns failures into problem+json: gRPC INVALID_ARGUMENT → 400 (with the field), NOT_FOUND → 404,
/// RESOURCE_EXHAUSTED → 429, FAILED_PRECONDITION → 409, UNAVAILABLE (or no service) → 503.</summary>
public static partial class Errors
{
    public static IApplicationBuilder UseProblemErrors(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception e) when (!context.Response.HasStarted && ToProblem(e) is { } problem)
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("TLoRA.Gateway.Errors");
            LogRefused(logger, context.Request.Method, context.Request.Path, problem.Status, e.Message);
            context.Response.Clear();
            await Results.Problem(problem.Detail, statusCode: problem.Status, title: problem.Title,
                extensions: problem.Field is null ? null : new Dictionary<string, object?> { ["field"] = problem.Field }).ExecuteAsync(context).ConfigureAwait(false);
        }
    });

    public sealed record Problem(int Status, string Title, string Detail, string? Field);

    public static Problem? ToProblem(Exception e) => e switch
    {
        ApiException a => new(a.Status, a.Status == 413 ? "Request too large" : "Invalid request", a.Message, a.Field),
        ServiceUnavailableException s => new(503, "GPU service unavailable", s.Message, null),
        RpcException r => FromRpc(r),
        BadHttpRequestException b => new(b.StatusCode, "Bad request", b.Message, null),
        _ => null,
    };

    private static Problem? FromRpc(RpcException e) => e.StatusCode switch
    {
        StatusCode.InvalidArgument => new(400, "Invalid request", e.Status.Detail, FieldOf(e.Status.Detail)),
        StatusCode.NotFound => new(404, "Not found", e.Status.Detail, null),
        StatusCode.ResourceExhausted => new(429, "GPU service busy", e.Status.Detail, null),
        StatusCode.FailedPrecondition => new(409, "Conflict", e.Status.Detail, null),
        StatusCode.Unavailable => new(503, "GPU service unavailable", e.Status.Detail, null),
        StatusCode.DeadlineExceeded => new(504, "GPU service timed out", e.Status.Detail, null),
        _ => new(502, "GPU service error", $"{e.StatusCode}: {e.Status.Detail}", null),
    };

    /// <summary>"class_word: required" → "classWord" (the REST field name).</summary>
    public static string? FieldOf(string detail)
    {
        var m = FieldPattern().Match(detail);
        return m.Success ? Regex.Replace(m.Groups[1].Value, "_([a-z])", x => x.Groups[1].Value.ToUpperInvariant()) : null;
    }

    [GeneratedRegex("^([a-z][a-z0-9_]*): ")]
    private static partial Regex FieldPattern();

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method} {Path} answered {Status}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string method, string path, int status, string reason);
}
