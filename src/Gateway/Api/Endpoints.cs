using System.Security.Claims;
using TLoRA.Gateway.Security;
using TLoRA.Gateway.Services;
using TLoRA.Contracts.V1;

namespace TLoRA.Gateway.Api;

/// <summary>The REST API under /api and /health.</summary>
public static class Endpoints
{
    public static void MapGatewayApi(this WebApplication app)
    {
        // every route needs an authenticated caller (401 without one) with the scope it names (403 without it)
        var api = app.MapGroup("/api").RequireAuthorization().ProducesProblem(401).ProducesProblem(403).ProducesProblem(429);
        api.MapPost("/jobs", async (HttpRequest request, ClaimsPrincipal user, GpuClient client, CancellationToken ct) =>
        {
            var job = await client.SubmitTrainAsync(GatewayCaller.Of(user), await Forms.ParseTrainAsync(request, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            return TypedResults.Accepted($"/api/jobs/{job.JobId}", JobMapping.ToDto(job));
        }).Accepts<TrainForm>("multipart/form-data").Produces<JobDto>(StatusCodes.Status202Accepted).ProducesValidationProblem()
          .ProducesProblem(429).ProducesProblem(503)
          .WithSummary("Queue a training job on the least-loaded GPU service: multipart form with the image file and the options as fields")
          .RequireAuthorization(Scopes.Write);
        api.MapGet("/jobs", async (int? limit, ClaimsPrincipal user, GpuClient client, CancellationToken ct) =>
            (await client.ListJobsAsync(GatewayCaller.Of(user), limit ?? 50, ct).ConfigureAwait(false)).Select(JobMapping.ToDto).ToArray())
            .WithSummary("The caller's newest jobs (every owner's with the admin scope)").RequireAuthorization(Scopes.Read);
        api.MapGet("/jobs/{id}", async (string id, ClaimsPrincipal user, GpuClient client, CancellationToken ct) =>
            JobMapping.ToDto(await client.GetJobAsync(GatewayCaller.Of(user), id, ct).ConfigureAwait(false))).ProducesProblem(404).RequireAuthorization(Scopes.Read);
        api.MapPost("/jobs/{id}/cancel", async (string id, ClaimsPrincipal user, GpuClient client, CancellationToken ct) =>
            JobMapping.ToDto(await client.CancelJobAsync(GatewayCaller.Of(user), id, ct).ConfigureAwait(false))).ProducesProblem(404).ProducesProblem(409)
            .RequireAuthorization(Scopes.Write);
        api.MapDelete("/jobs/{id}", async (string id, ClaimsPrincipal user, GpuClient client, CancellationToken ct) =>
        {
            await client.DeleteJobAsync(GatewayCaller.Of(user), id, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).ProducesProblem(404).ProducesProblem(409)
          .WithSummary("Delete an ended job with its events, adapters and images (a queued or running job: cancel it first)")
          .RequireAuthorization(Scopes.Write);
        api.MapPost("/jobs/{id}/resume", async (string id, ClaimsPrincipal user, GpuClient client, CancellationToken ct) =>
            JobMapping.ToDto(await client.ResumeJobAsync(GatewayCaller.Of(user), id, ct).ConfigureAwait(false))).ProducesProblem(404).ProducesProblem(409).ProducesProblem(429)
            .WithSummary("Continue an interrupted training job from its last checkpoint (its events go on with `resumed`)").RequireAuthorization(Scopes.Write);
        api.MapGet("/jobs/{id}/events", async (string id, long? from, ClaimsPrincipal user, GpuClient client, CancellationToken ct) =>
            (await client.EventsAsync(GatewayCaller.Of(user), id, from ?? 1, ct).ConfigureAwait(false)).Select(JobEvents.ToDto).ToArray())
            .Produces<JobEventDto[]>().ProducesProblem(404)
            .WithSummary("The job's stored events from sequence `from`, as the hub's \"event\" messages carry them").RequireAuthorization(Scopes.Read);
        api.MapPost("/samples", async (SampleBody body, ClaimsPrincipal user, GpuClient client, CancellationToken ct) =>
        {
            var job = await client.SubmitSampleAsync(GatewayCaller.Of(user), SampleForms.ToRequest(body), ct).ConfigureAwait(false);
            return TypedResults.Accepted($"/api/jobs/{job.JobId}", JobMapping.ToDto(job));
        }).Produces<JobDto>(StatusCodes.Status202Accepted).ProducesValidationProblem().ProducesProblem(429).ProducesProblem(503)
          .WithSummary("Queue a sampling job on the least-loaded GPU service").RequireAuthorization(Scopes.Write);
        api.MapGet("/images/{id}", (string id, HttpContext context, GpuClient client, CancellationToken ct) =>
            StreamAsync(context, client, id, adapter: false, ct)).Produces(200, contentType: "image/png").ProducesProblem(404).RequireAuthorization(Scopes.Read);
        api.MapGet("/jobs/{id}/image", (string id, HttpContext context, GpuClient client, CancellationToken ct) =>
            StreamAsync(context, client, $"{id}-concept", adapter: false, ct)).Produces(200, contentType: "image/png").ProducesProblem(404)
            .WithSummary("A training job's concept image, as it was uploaded (PNG, JPEG or WebP); also served as /api/images/{id}-concept")
            .RequireAuthorization(Scopes.Read);
        api.MapGet("/adapters/{id}", (string id, HttpContext context, GpuClient client, CancellationToken ct) =>
            StreamAsync(context, client, id, adapter: true, ct)).Produces(200, contentType: "application/octet-stream").ProducesProblem(404).RequireAuthorization(Scopes.Read);
        api.MapGet("/adapters/{id}/inspect", async (string id, bool? layers, ClaimsPrincipal user, GpuClient client, CancellationToken ct) =>
            JobMapping.ToDto(await client.InspectAsync(GatewayCaller.Of(user), id, layers ?? false, ct).ConfigureAwait(false)))
            .Produces<InspectDto>().ProducesProblem(404).RequireAuthorization(Scopes.Read);
        api.MapGet("/models", async (ClaimsPrincipal user, GpuClient client, CancellationToken ct) =>
            (await client.ListModelsAsync(GatewayCaller.Of(user), ct).ConfigureAwait(false)).Select(JobMapping.ToDto).ToArray()).RequireAuthorization(Scopes.Read);
        api.MapGet("/train/defaults", async (ClaimsPrincipal user, GpuClient client, CancellationToken ct) =>
            JobMapping.ToDto(await client.TrainDefaultsAsync(GatewayCaller.Of(user), ct).ConfigureAwait(false))).Produces<TrainDefaultsDto>()
            .WithSummary("What a training job's unset fields take and the limits its fields are checked against (the GPU service's)")
            .RequireAuthorization(Scopes.Read);
        app.MapGet("/health", (GpuServicePool pool) =>
        {
            // services by position and id only: their addresses and errors are internal (the log has them)
            var services = pool.Endpoints.Select(e => new ServiceHealthDto($"service-{e.Index + 1}",
                e.Healthy switch { true => "healthy", false => "unavailable", null => "unknown" }, e.CheckedAt, e.ServiceId, e.Load)).ToArray();
            var any = pool.Endpoints.Any(e => e.Healthy == true);
            return Results.Json(new HealthDto(any ? "healthy" : "degraded", "healthy", services), statusCode: any ? 200 : 503);
        }).Produces<HealthDto>(200).Produces<HealthDto>(503);
    }

    /// <summary>Streams a stored file from the service; errors before the first chunk become problem+json.</summary>
    private static async Task StreamAsync(HttpContext context, GpuClient client, string id, bool adapter, CancellationToken ct)
    {
        using var download = await client.DownloadAsync(GatewayCaller.Of(context.User), id, adapter, ct).ConfigureAwait(false);
        var response = context.Response;
        response.ContentType = adapter ? "application/octet-stream" : "image/png";
        if (download.First is { } first)
        {
            // previews are PNGs; a concept image is kept as uploaded
            if (!adapter && ImageTypes.MediaType(first.Data.Span) is { } type) response.ContentType = type;
            response.ContentLength = first.TotalSize;
            if (adapter)
            {
                var name = first.FileName.Length > 0 ? first.FileName : "adapter.safetensors";
                response.Headers.ContentDisposition = new System.Net.Http.Headers.ContentDispositionHeaderValue("attachment") { FileNameStar = $"{id}-{name}" }.ToString();
            }
        }
        await foreach (var chunk in download.ChunksAsync().WithCancellation(ct).ConfigureAwait(false))
            await response.Body.WriteAsync(chunk.Data.Memory, ct).ConfigureAwait(false);
    }
}

/// <summary>The form fields of POST /api/jobs, for the OpenAPI description (the handler reads the form itself).</summary>
public sealed record TrainForm(IFormFile Image, string ModelId, string? Trigger, string? ClassWord, string? Method, string? Init, int? Rank, int? MinRank, double? Alpha,
    int? Steps, int? CheckpointInterval, ulong? Seed, int? Resolution, string[]? ValidationPrompts, double? LearningRate, int? PreviewSteps, int? ImagesPerPrompt,
    double? PreviewGuidance, bool? GradientCheckpointing);
