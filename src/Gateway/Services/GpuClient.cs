using System.Runtime.CompilerServices;
using Grpc.Core;
using Microsoft.Extensions.Options;
using TLoRA.Contracts.V1;
using TLoRA.Gateway.Api;
using TLoRA.Gateway.Telemetry;
using Client = TLoRA.Contracts.V1.TLoRAService.TLoRAServiceClient;

namespace TLoRA.Gateway.Services;

/// <summary>
/// The gateway's calls to the GPU services, through their generated clients, each with a deadline. A new job goes to
/// the least-loaded healthy service (each asked for its queue at that moment, see <see cref="ServiceRouter"/>);
/// a call about a job, adapter or image goes to the service whose id starts it, which the gateway learns from the
/// services themselves, so any replica finds it after any restart. A call failing with UNAVAILABLE marks its service
/// down; when none is left it throws <see cref="ServiceUnavailableException"/>.
/// </summary>
public sealed partial class GpuClient(GpuServicePool pool, ServiceRouter router, IOptions<GatewayOptions> options, GatewayMetrics metrics,
    ILogger<GpuClient> logger)
{
    private DateTime CallDeadline => DateTime.UtcNow.AddSeconds(options.Value.CallTimeoutSeconds);
    private DateTime StreamDeadline => DateTime.UtcNow.AddMinutes(options.Value.WatchRenewMinutes);

    public Task<Job> SubmitTrainAsync(GatewayCaller caller, TrainRequest request, CancellationToken ct) =>
        SubmitAsync("training", c => c.SubmitTrainAsync(request, caller.Headers(), deadline: CallDeadline, cancellationToken: ct).ResponseAsync, ct);

    public Task<Job> SubmitSampleAsync(GatewayCaller caller, SampleRequest request, CancellationToken ct) =>
        SubmitAsync("sampling", c => c.SubmitSampleAsync(request, caller.Headers(), deadline: CallDeadline, cancellationToken: ct).ResponseAsync, ct);

    public Task<Job> GetJobAsync(GatewayCaller caller, string jobId, CancellationToken ct) =>
        OnOwnerAsync(jobId, c => c.GetJobAsync(new GetJobRequest { JobId = jobId }, caller.Headers(), deadline: CallDeadline, cancellationToken: ct).ResponseAsync, ct);

    public Task<Job> CancelJobAsync(GatewayCaller caller, string jobId, CancellationToken ct) =>
        OnOwnerAsync(jobId, c => c.CancelJobAsync(new CancelJobRequest { JobId = jobId }, caller.Headers(), deadline: CallDeadline, cancellationToken: ct).ResponseAsync, ct);

    public Task<DeleteJobReply> DeleteJobAsync(GatewayCaller caller, string jobId, CancellationToken ct) =>
        OnOwnerAsync(jobId, c => c.DeleteJobAsync(new DeleteJobRequest { JobId = jobId }, caller.Headers(), deadline: CallDeadline, cancellationToken: ct).ResponseAsync, ct);

    /// <summary>Queues an interrupted training job again on the service that owns it (after that service restarted).</summary>
    public Task<Job> ResumeJobAsync(GatewayCaller caller, string jobId, CancellationToken ct) =>
        OnOwnerAsync(jobId, c => c.ResumeJobAsync(new ResumeJobRequest { JobId = jobId }, caller.Headers(), deadline: CallDeadline, cancellationToken: ct).ResponseAsync, ct);

    public Task<InspectReply> InspectAsync(GatewayCaller caller, string adapterId, bool layers, CancellationToken ct) =>
        OnOwnerAsync(adapterId, c => c.InspectAdapterAsync(new InspectRequest { AdapterId = adapterId, IncludeLayers = layers },
            caller.Headers(), deadline: CallDeadline, cancellationToken: ct).ResponseAsync, ct);

    /// <summary>The newest jobs of every available service, newest first.</summary>
    public async Task<IReadOnlyList<Job>> ListJobsAsync(GatewayCaller caller, int limit, CancellationToken ct)
    {
        var replies = await OnEachAsync(c => c.ListJobsAsync(new ListJobsRequest { Limit = limit }, caller.Headers(), deadline: CallDeadline, cancellationToken: ct).ResponseAsync, ct)
            .ConfigureAwait(false);
        return replies.SelectMany(r => r.Jobs).OrderByDescending(j => j.Created?.ToDateTimeOffset()).Take(limit > 0 ? limit : 50).ToArray();
    }

    /// <summary>The models of every available service (each id once).</summary>
    public async Task<IReadOnlyList<ModelInfo>> ListModelsAsync(GatewayCaller caller, CancellationToken ct)
    {
        var replies = await OnEachAsync(c => c.ListModelsAsync(new ListModelsRequest(), caller.Headers(), deadline: CallDeadline, cancellationToken: ct).ResponseAsync, ct)
            .ConfigureAwait(false);
        return replies.SelectMany(r => r.Models).DistinctBy(m => m.ModelId).ToArray();
    }

    /// <summary>The training defaults and limits of the first service that answers (services of one deployment share them).</summary>
    public async Task<TrainDefaults> TrainDefaultsAsync(GatewayCaller caller, CancellationToken ct)
    {
        var replies = await OnEachAsync(c => c.ListModelsAsync(new ListModelsRequest(), caller.Headers(), deadline: CallDeadline, cancellationToken: ct).ResponseAsync, ct)
            .ConfigureAwait(false);
        return replies.Select(r => r.TrainDefaults).FirstOrDefault(d => d is not null)
               ?? throw new RpcException(new Status(StatusCode.Unavailable, "no GPU service reported its training defaults"));
    }

    /// <summary>Replays a job's events from <paramref name="fromSequence"/> and follows it live until it ends. A
    /// stream that reaches its deadline (before or after its first event: a job may wait in a queue, or render, for
    /// longer) is reopened from the next sequence, so none is lost or repeated.</summary>
    public async IAsyncEnumerable<JobEvent> WatchAsync(GatewayCaller caller, string jobId, long fromSequence, [EnumeratorCancellation] CancellationToken ct)
    {
        var next = Math.Max(fromSequence, 1);
        while (true)
        {
            var from = next;
            var deadline = StreamDeadline;
            var (call, e, renew) = await OpenAsync(jobId, c => c.WatchJob(new WatchJobRequest { JobId = jobId, FromSequence = from },
                caller.Headers(), deadline: deadline, cancellationToken: ct), ct, deadline).ConfigureAwait(false);
            using (call)
            {
                while (e is not null)
                {
                    yield return e;
                    next = e.Sequence + 1;
                    if (JobEvents.IsTerminal(e)) yield break;
                    (e, renew) = await NextAsync(call, deadline, ct).ConfigureAwait(false);
                }
                if (!renew) yield break;
            }
        }
    }

    /// <summary>The next event; (null, true) when the stream reached its deadline and should be reopened.</summary>
    private static async Task<(JobEvent? Event, bool Renew)> NextAsync(AsyncServerStreamingCall<JobEvent> call, DateTime deadline, CancellationToken ct)
    {
        try
        {
            return await call.ResponseStream.MoveNext(ct).ConfigureAwait(false) ? (call.ResponseStream.Current, false) : (null, false);
        }
        catch (RpcException e) when (ReachedDeadline(e, deadline, ct))
        {
            return (null, true);
        }
    }

    /// <summary>Whether a stream ended because its deadline passed. Grpc.Net.Client reports that as DEADLINE_EXCEEDED,
    /// but when the deadline aborts the HTTP/2 request while a message is being read, the read fails first with
    /// UNAVAILABLE "The request was aborted" (RenewalTests, 0.3 s deadlines, once in a CI run): past the deadline,
    /// that is the deadline too.</summary>
    private static bool ReachedDeadline(RpcException e, DateTime? deadline, CancellationToken ct) =>
        !ct.IsCancellationRequested && (e.StatusCode == StatusCode.DeadlineExceeded ||
                                        (e.StatusCode == StatusCode.Unavailable && deadline is { } d && DateTime.UtcNow >= d));

    /// <summary>Opens WatchJobs on <paramref name="endpoint"/> (every job's live events, no replay; its deadline a
    /// little after <see cref="GatewayOptions.WatchRenewMinutes"/>) and returns once the service is watching: its
    /// response headers have arrived, so no event published afterwards is missed. Disposing the call ends it.</summary>
    public async Task<AsyncServerStreamingCall<JobEvent>> OpenJobsFeedAsync(ServiceEndpoint endpoint, CancellationToken ct)
    {
        var call = pool.Client(endpoint).WatchJobs(new WatchJobsRequest(), GatewayCaller.Gateway.Headers(), deadline: StreamDeadline.AddMinutes(2), cancellationToken: ct);
        try
        {
            await call.ResponseHeadersAsync.WaitAsync(ct).ConfigureAwait(false);
            // A trailers-only answer (UNIMPLEMENTED from an older service, UNAVAILABLE while it stops) ends the call
            // with its headers: that is a refusal, not a connection.
            if (Ended(call) is { StatusCode: not StatusCode.OK } refused) throw new RpcException(refused);
            return call;
        }
        catch (RpcException e) when (IsUnavailable(e, ct))
        {
            call.Dispose();
            MarkDown(endpoint, e);
            throw;
        }
        catch
        {
            call.Dispose();
            throw;
        }
    }

    private static Status? Ended(AsyncServerStreamingCall<JobEvent> call)
    {
        try
        {
            return call.GetStatus();
        }
        catch (InvalidOperationException)
        {
            return null; // still in progress
        }
    }

    /// <summary>The events stored so far from <paramref name="fromSequence"/> (does not wait for new ones).</summary>
    public async Task<IReadOnlyList<JobEvent>> EventsAsync(GatewayCaller caller, string jobId, long fromSequence, CancellationToken ct)
    {
        var job = await GetJobAsync(caller, jobId, ct).ConfigureAwait(false);
        var events = new List<JobEvent>();
        if (Math.Max(fromSequence, 1) > job.LastSequence) return events;
        await foreach (var e in WatchAsync(caller, jobId, fromSequence, ct).ConfigureAwait(false))
        {
            events.Add(e);
            if (e.Sequence >= job.LastSequence) break;
        }
        return events;
    }

    /// <summary>Streams a stored file (adapter or image) in chunks; the first chunk is read before returning so that
    /// NOT_FOUND surfaces before a response starts.</summary>
    public async Task<Download> DownloadAsync(GatewayCaller caller, string id, bool adapter, CancellationToken ct)
    {
        var (call, first, expired) = await OpenAsync(id, c => adapter
            ? c.DownloadAdapter(new DownloadAdapterRequest { AdapterId = id }, caller.Headers(), deadline: StreamDeadline, cancellationToken: ct)
            : c.DownloadImage(new DownloadImageRequest { ImageId = id }, caller.Headers(), deadline: StreamDeadline, cancellationToken: ct), ct).ConfigureAwait(false);
        if (!expired) return new Download(call, first, ct);
        call.Dispose();
        throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"the GPU service did not start sending '{id}' in time"));
    }

    /// <summary>A download: the first chunk (its name and size) and the rest.</summary>
    public sealed class Download(AsyncServerStreamingCall<FileChunk> call, FileChunk? first, CancellationToken ct) : IDisposable
    {
        public FileChunk? First { get; } = first;

        public async IAsyncEnumerable<FileChunk> ChunksAsync()
        {
            if (First is null) yield break;
            yield return First;
            while (await call.ResponseStream.MoveNext(ct).ConfigureAwait(false)) yield return call.ResponseStream.Current;
        }

        public void Dispose() => call.Dispose();
    }

    private async Task<Job> SubmitAsync(string kind, Func<Client, Task<Job>> submit, CancellationToken ct)
    {
        RpcException? busy = null;
        foreach (var endpoint in await router.ByLoadAsync(ct).ConfigureAwait(false))
        {
            try
            {
                var job = await submit(pool.Client(endpoint)).ConfigureAwait(false);
                endpoint.Learn(job.ServiceId, (endpoint.Load ?? 0) + 1);
                LogSubmitted(logger, kind, job.JobId, endpoint.Address);
                metrics.Submitted(kind, endpoint);
                // the submission's trace (REST request → gRPC call → the GPU service's span) names the job it made
                System.Diagnostics.Activity.Current?.SetTag("tlora.job_id", job.JobId);
                return job;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
            {
                busy = e; // its queue is full: the next service may have room
            }
            catch (RpcException e) when (IsUnavailable(e, ct))
            {
                MarkDown(endpoint, e);
            }
        }
        throw busy ?? (Exception)new ServiceUnavailableException(pool.UnavailableReason());
    }

    /// <summary>Opens a server stream on the owner of <paramref name="id"/> and reads its first message; Expired when
    /// the stream's deadline came first (the caller decides whether that is a failure or a renewal).</summary>
    private Task<(AsyncServerStreamingCall<T> Call, T? First, bool Expired)> OpenAsync<T>(string id,
        Func<Client, AsyncServerStreamingCall<T>> open, CancellationToken ct, DateTime? deadline = null) where T : class =>
        OnOwnerAsync(id, async c =>
        {
            var call = open(c);
            try
            {
                var any = await call.ResponseStream.MoveNext(ct).ConfigureAwait(false);
                return (call, any ? call.ResponseStream.Current : null, false);
            }
            catch (RpcException e) when (ReachedDeadline(e, deadline, ct))
            {
                return (call, null, true);
            }
            catch
            {
                call.Dispose();
                throw;
            }
        }, ct);

    /// <summary>Runs <paramref name="call"/> on the service that owns <paramref name="id"/> (the prefix of the id);
    /// an id that names no service is looked for on each available service until one does not answer NOT_FOUND.</summary>
    private async Task<T> OnOwnerAsync<T>(string id, Func<Client, Task<T>> call, CancellationToken ct)
    {
        if (await router.OwnerAsync(id, ct).ConfigureAwait(false) is { } owner)
        {
            try
            {
                return await call(pool.Client(owner)).ConfigureAwait(false);
            }
            catch (RpcException e) when (IsUnavailable(e, ct))
            {
                MarkDown(owner, e);
                throw new ServiceUnavailableException($"the GPU service that owns '{id}' ({owner.Address}) is unavailable: {e.Status.Detail}");
            }
        }
        var candidates = pool.Available();
        RpcException? notFound = null;
        foreach (var endpoint in candidates)
        {
            try
            {
                return await call(pool.Client(endpoint)).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && candidates.Count > 1)
            {
                notFound = e;
            }
            catch (RpcException e) when (IsUnavailable(e, ct))
            {
                MarkDown(endpoint, e);
            }
        }
        throw notFound ?? (Exception)new ServiceUnavailableException(pool.UnavailableReason());
    }

    private async Task<IReadOnlyList<T>> OnEachAsync<T>(Func<Client, Task<T>> call, CancellationToken ct)
    {
        var results = new List<T>();
        foreach (var endpoint in pool.Available())
        {
            try
            {
                results.Add(await call(pool.Client(endpoint)).ConfigureAwait(false));
            }
            catch (RpcException e) when (IsUnavailable(e, ct))
            {
                MarkDown(endpoint, e);
            }
        }
        return results.Count > 0 ? results : throw new ServiceUnavailableException(pool.UnavailableReason());
    }

    /// <summary>The service could not be reached (as opposed to answering with an error of the call's own). A call
    /// that outlives its deadline is not that: the service may just be busy with it, so it fails alone (504) and the
    /// health checks, which have their own short deadline, decide whether the service is down.</summary>
    internal static bool IsUnavailable(RpcException e, CancellationToken ct) =>
        !ct.IsCancellationRequested && e.StatusCode is StatusCode.Unavailable;

    internal void MarkDown(ServiceEndpoint endpoint, RpcException e)
    {
        if (endpoint.Mark(false, $"{e.StatusCode}: {e.Status.Detail}")) LogDown(logger, endpoint.Address, e.Status.Detail);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Kind} job {JobId} queued on {Address}")]
    private static partial void LogSubmitted(ILogger logger, string kind, string jobId, Uri address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GPU service {Address} is unavailable: {Reason}")]
    private static partial void LogDown(ILogger logger, Uri address, string reason);
}
