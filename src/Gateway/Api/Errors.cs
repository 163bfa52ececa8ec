using System.Text;
using Google.Rpc;
using Grpc.Core;
using TLoRA.Gateway.Services;

namespace TLoRA.Gateway.Api;

/// <summary>A request the gateway refuses itself; <see cref="Field"/> names the offending form field.</summary>
public sealed class ApiException(int status, string? field, string message) : Exception(field is null ? message : $"{field}: {message}")
{
    public int Status { get; } = status;
    public string? Field { get; } = field;
    public string Description { get; } = message;

    public static ApiException Invalid(string field, string message) => new(StatusCodes.Status400BadRequest, field, message);
}

/// <summary>
/// Turns failures into problem+json: INVALID_ARGUMENT → 400 with <c>errors</c> by field (from the google.rpc.BadRequest
/// detail the service sends, proto field names in REST's camelCase: min_rank → minRank), NOT_FOUND → 404,
/// RESOURCE_EXHAUSTED → 429, FAILED_PRECONDITION → 409, UNAVAILABLE (or no service) → 503, DEADLINE_EXCEEDED → 504. A 5xx
/// says no more than that (never a service's address or error text); every problem carries the request's correlation id.
/// </summary>
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
            // the caller gets the short problem and its correlation id; the whole story (addresses, statuses) is logged
            LogRefused(logger, context.Request.Method, context.Request.Path, problem.Status, context.TraceIdentifier, e.Message);
            context.Response.Clear();
            var result = problem.Errors is { Count: > 0 } errors
                ? Results.ValidationProblem(errors, problem.Detail, statusCode: problem.Status, title: problem.Title)
                : Results.Problem(problem.Detail, statusCode: problem.Status, title: problem.Title);
            await result.ExecuteAsync(context).ConfigureAwait(false);
        }
    });

    /// <summary>A problem: status, title, detail and, for invalid requests, the errors of each field (REST names).</summary>
    public sealed record Problem(int Status, string Title, string Detail, IReadOnlyDictionary<string, string[]>? Errors = null);

    public static Problem? ToProblem(Exception e) => e switch
    {
        ApiException a => new(a.Status, a.Status == 413 ? "Request too large" : "Invalid request", a.Message,
            a.Field is null ? null : new Dictionary<string, string[]> { [a.Field] = [a.Description] }),
        ServiceUnavailableException => new(503, "GPU service unavailable", Unavailable),
        UnknownOwnerException u => new(404, "Not found", u.Message),
        RpcException r => FromRpc(r),
        BadHttpRequestException b => new(b.StatusCode, "Bad request", b.Message),
        _ => null,
    };

    private static Problem FromRpc(RpcException e) => e.StatusCode switch
    {
        StatusCode.InvalidArgument => new(400, "Invalid request", e.Status.Detail, FieldErrors(e)),
        StatusCode.NotFound => new(404, "Not found", e.Status.Detail),
        StatusCode.ResourceExhausted => new(429, "GPU service busy", e.Status.Detail),
        StatusCode.FailedPrecondition => new(409, "Conflict", e.Status.Detail),
        StatusCode.Unavailable => new(503, "GPU service unavailable", Unavailable),
        StatusCode.DeadlineExceeded => new(504, "GPU service timed out", "the GPU service did not answer in time; try again"),
        _ => new(502, "GPU service error", "the GPU service failed to answer this request"),
    };

    /// <summary>The field violations of the status's google.rpc.BadRequest detail, by REST field name.</summary>
    public static IReadOnlyDictionary<string, string[]>? FieldErrors(RpcException e)
    {
        if (e.GetRpcStatus()?.GetDetail<BadRequest>() is not { FieldViolations.Count: > 0 } bad) return null;
        return bad.FieldViolations.GroupBy(v => RestName(v.Field)).ToDictionary(g => g.Key, g => g.Select(v => v.Description).ToArray());
    }

    /// <summary>A proto field name as REST (and the UI) call it: "class_word" → "classWord".</summary>
    public static string RestName(string protoField)
    {
        var name = new StringBuilder(protoField.Length);
        var upper = false;
        foreach (var c in protoField)
        {
            if (c == '_')
            {
                upper = true;
                continue;
            }
            name.Append(upper ? char.ToUpperInvariant(c) : c);
            upper = false;
        }
        return name.ToString();
    }

    /// <summary>What a caller is told when no service can answer: which services, where, and why is for the log.</summary>
    public const string Unavailable = "no GPU service can take this request right now; try again later";

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method} {Path} answered {Status} (correlation {CorrelationId}): {Reason}")]
    private static partial void LogRefused(ILogger logger, string method, string path, int status, string correlationId, string reason);
}
