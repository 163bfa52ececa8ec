using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using TLoRA.Gateway.Api;
using TLoRA.Gateway.Services;
using TLoRA.Contracts.V1;
using TLoRA.WebUI.Backend;

namespace TLoRA.Gateway.WebUI;

/// <summary>
/// The WebUI's backend inside the gateway: the same GPU-service client the REST API uses, with failures turned into
/// the same statuses and field errors REST answers with (a refusal that names "min_rank" reaches the form as "minRank").
/// </summary>
public sealed class GatewayBackend(GpuClient client, IHttpContextAccessor http, IOptions<GatewayOptions> options) : IJobBackend
{
    /// <summary>The signed-in caller of the page being rendered (its pages require authentication like the API).</summary>
    private GatewayCaller Caller => GatewayCaller.Of(http.HttpContext?.User ?? throw new InvalidOperationException("the WebUI called the gateway outside a request"));

    public long MaxUploadBytes => options.Value.MaxUploadBytes;

    public string ImageUrl(string imageId) => JobEvents.ImageUrl(imageId);

    public string AdapterUrl(string adapterId) => JobEvents.AdapterUrl(adapterId);

    public Task<IReadOnlyList<ModelInfo>> ListModelsAsync(CancellationToken ct) => Call(() => client.ListModelsAsync(Caller, ct));

    public Task<IReadOnlyList<Job>> ListJobsAsync(int limit, CancellationToken ct) => Call(() => client.ListJobsAsync(Caller, limit, ct));

    public Task<Job> GetJobAsync(string jobId, CancellationToken ct) => Call(() => client.GetJobAsync(Caller, jobId, ct));

    public Task<Job> SubmitTrainAsync(TrainRequest request, CancellationToken ct) => Call(() => client.SubmitTrainAsync(Caller, request, ct));

    public Task<Job> SubmitSampleAsync(SampleRequest request, CancellationToken ct) => Call(() => client.SubmitSampleAsync(Caller, request, ct));

    public Task<Job> CancelJobAsync(string jobId, CancellationToken ct) => Call(() => client.CancelJobAsync(Caller, jobId, ct));

    public Task<InspectReply> InspectAsync(string adapterId, bool layers, CancellationToken ct) => Call(() => client.InspectAsync(Caller, adapterId, layers, ct));

    public async IAsyncEnumerable<JobEvent> WatchAsync(string jobId, long fromSequence, [EnumeratorCancellation] CancellationToken ct)
    {
        var events = client.WatchAsync(Caller, jobId, fromSequence, ct).GetAsyncEnumerator(ct);
        await using (events.ConfigureAwait(false))
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await events.MoveNextAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (Translate(e, ct) is { } refused)
                {
                    throw refused;
                }
                if (!more) yield break;
                yield return events.Current;
            }
        }
    }

    private static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, CancellationToken.None) is { } refused)
        {
            throw refused;
        }
    }

    /// <summary>The problem REST would answer with; anything else unexpected becomes a 502 naming the error.</summary>
    private static BackendException? Translate(Exception e, CancellationToken ct)
    {
        if (e is OperationCanceledException && ct.IsCancellationRequested) return null;
        if (e is BackendException) return null;
        return Errors.ToProblem(e) is { } p ? new BackendException(p.Status, p.Title, p.Detail, p.Errors, e)
            : new BackendException(502, "Gateway error", e.Message, null, e);
    }
}
