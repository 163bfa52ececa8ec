using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using TLoRA.Gateway.Api;

namespace TLoRA.WebUI.Gateway;

/// <summary>A refusal or failure of the gateway: its status, title and detail, and field errors by REST name.</summary>
public sealed class GatewayException(int status, string title, string? detail, IReadOnlyDictionary<string, string[]>? errors, Exception? inner = null)
    : Exception(detail ?? title, inner)
{
    public int Status { get; } = status;
    public string Title { get; } = title;
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors ?? new Dictionary<string, string[]>();
}

/// <summary>The gateway's REST API (typed HttpClient), called as the person using this scope
/// (<see cref="GatewayCredentials"/>). Problem+json answers become <see cref="GatewayException"/>s; an unreachable gateway
/// becomes one with status 503.</summary>
public sealed class GatewayClient(HttpClient http, GatewayCredentials credentials)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public Uri? BaseAddress => http.BaseAddress;

    public Task<JobDto[]> ListJobsAsync(int limit, CancellationToken ct) => GetAsync<JobDto[]>($"/api/jobs?limit={limit}", ct);

    public Task<JobDto> GetJobAsync(string jobId, CancellationToken ct) => GetAsync<JobDto>($"/api/jobs/{Esc(jobId)}", ct);

    public Task<JobEventDto[]> EventsAsync(string jobId, long from, CancellationToken ct) =>
        GetAsync<JobEventDto[]>($"/api/jobs/{Esc(jobId)}/events?from={from.ToString(CultureInfo.InvariantCulture)}", ct);

    public Task<ModelDto[]> ListModelsAsync(CancellationToken ct) => GetAsync<ModelDto[]>("/api/models", ct);

    public Task<TrainDefaultsDto> TrainDefaultsAsync(CancellationToken ct) => GetAsync<TrainDefaultsDto>("/api/train/defaults", ct);

    public Task<InspectDto> InspectAsync(string adapterId, CancellationToken ct) => GetAsync<InspectDto>($"/api/adapters/{Esc(adapterId)}/inspect?layers=true", ct);

    public Task<JobDto> CancelAsync(string jobId, CancellationToken ct) => SendAsync<JobDto>(HttpMethod.Post, $"/api/jobs/{Esc(jobId)}/cancel", null, ct);

    public Task<JobDto> ResumeAsync(string jobId, CancellationToken ct) => SendAsync<JobDto>(HttpMethod.Post, $"/api/jobs/{Esc(jobId)}/resume", null, ct);

    public Task<JobDto> SubmitSampleAsync(SampleBody body, CancellationToken ct) =>
        SendAsync<JobDto>(HttpMethod.Post, "/api/samples", JsonContent.Create(body, options: Json), ct);

    /// <summary>POST /api/jobs: the multipart form (the image and the options as fields).</summary>
    public Task<JobDto> SubmitTrainAsync(IReadOnlyList<KeyValuePair<string, string>> fields, string imageName, byte[] image, CancellationToken ct)
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(image);
        file.Headers.ContentType = new MediaTypeHeaderValue(ImageTypes.MediaType(image) ?? "application/octet-stream"); // the gateway refuses the latter, naming the types
        form.Add(file, "image", imageName);
        foreach (var (name, value) in fields) form.Add(new StringContent(value), name);
        return SendAsync<JobDto>(HttpMethod.Post, "/api/jobs", form, ct);
    }

    /// <summary>URL (on this host, see GatewayFiles) of a training job's concept image.</summary>
    public static string ConceptImageUrl(string jobId) => $"/api/images/{Uri.EscapeDataString(jobId + "-concept")}";

    /// <summary>A training job's concept image as uploaded (GET /api/jobs/{id}/image); null when the job has none.</summary>
    public async Task<byte[]?> ConceptImageAsync(string jobId, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/jobs/{Esc(jobId)}/image");
        await credentials.ApplyAsync(request, ct).ConfigureAwait(false);
        using var answer = await http.SendAsync(request, ct).ConfigureAwait(false);
        if (answer.StatusCode == HttpStatusCode.NotFound) return null;
        if (!answer.IsSuccessStatusCode) throw await ProblemAsync(answer, ct).ConfigureAwait(false);
        return await answer.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Streams a file from the gateway into <paramref name="response"/> (status, type, length, disposition).</summary>
    public async Task StreamAsync(string path, HttpResponse response, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        try
        {
            await credentials.ApplyAsync(request, ct).ConfigureAwait(false);
        }
        catch (GatewayException e)
        {
            // the person's sign-in ended, or the authority is unreachable: say so, never forward without credentials
            response.StatusCode = e.Status;
            response.ContentType = "text/plain; charset=utf-8";
            await response.WriteAsync($"{e.Title}. {e.Message}", ct).ConfigureAwait(false);
            return;
        }
        using var answer = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        response.StatusCode = (int)answer.StatusCode;
        if (answer.Content.Headers.ContentType is { } type) response.ContentType = type.ToString();
        if (answer.Content.Headers.ContentLength is { } length) response.ContentLength = length;
        if (answer.Content.Headers.ContentDisposition is { } disposition) response.Headers.ContentDisposition = disposition.ToString();
        await answer.Content.CopyToAsync(response.Body, ct).ConfigureAwait(false);
    }

    private Task<T> GetAsync<T>(string path, CancellationToken ct) => SendAsync<T>(HttpMethod.Get, path, null, ct);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        HttpResponseMessage answer;
        using var request = new HttpRequestMessage(method, path) { Content = content };
        await credentials.ApplyAsync(request, ct).ConfigureAwait(false);
        try
        {
            answer = await http.SendAsync(request, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new GatewayException(503, "The gateway is not reachable", "The gateway did not answer; try again in a moment.", null, e);
        }
        using (answer)
        {
            if (!answer.IsSuccessStatusCode) throw await ProblemAsync(answer, ct).ConfigureAwait(false);
            return await answer.Content.ReadFromJsonAsync<T>(Json, ct).ConfigureAwait(false)
                   ?? throw new GatewayException(502, "Empty answer", $"the gateway sent no body for {path}", null);
        }
    }

    private static async Task<GatewayException> ProblemAsync(HttpResponseMessage answer, CancellationToken ct)
    {
        var status = (int)answer.StatusCode;
        try
        {
            var problem = await answer.Content.ReadFromJsonAsync<Problem>(Json, ct).ConfigureAwait(false);
            if (problem is not null)
                return new GatewayException(status, problem.Title ?? answer.ReasonPhrase ?? "Error", problem.Detail, problem.Errors);
        }
        catch (JsonException)
        {
            // not problem+json
        }
        return new GatewayException(status, answer.ReasonPhrase ?? "Error", status == (int)HttpStatusCode.RequestEntityTooLarge
            ? "The image is larger than the gateway accepts." : null, null);
    }

    private static string Esc(string s) => Uri.EscapeDataString(s);

    private sealed record Problem(string? Title, string? Detail, int? Status, Dictionary<string, string[]>? Errors);
}
