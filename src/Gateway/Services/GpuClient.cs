using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using TLoRA.Rpc;
using TLoRA.Rpc.Client;
using TLoRA.Rpc.V1;

namespace TLoRA.Gateway.Services;

/// <summary>
/// The typed tlora.v1.TLoRAService client over the pool. New jobs go round-robin to an available service; calls
/// about a job, image or adapter go to the service that owns it (learnt at submission, else found by asking each).
/// A call failing with UNAVAILABLE marks its service down; when none is left it throws <see cref="ServiceUnavailableException"/>.
/// </summary>
public sealed partial class GpuClient(GpuServicePool pool, ILogger<GpuClient> logger)
{
    private const string Service = "/tlora.v1.TLoRAService/";
    private readonly ConcurrentDictionary<string, ServiceEndpoint> owners = new();

    public Task<Job> SubmitTrainAsync(TrainRequest request, CancellationToken ct) => SubmitAsync<TrainRequest, TrainEvent>("Train", request, e => e.JobId, ct);

    public Task<Job> SubmitSampleAsync(SampleRequest request, CancellationToken ct) => SubmitAsync<SampleRequest, SampleEvent>("Sample", request, e => e.JobId, ct);

    public Task<Job> GetJobAsync(string jobId, CancellationToken ct) =>
        OnOwnerAsync(jobId, (e, o) => e.Channel.UnaryAsync<GetJobRequest, Job>(Service + "GetJob", new GetJobRequest { JobId = jobId }, o), ct);

    public Task<Job> CancelJobAsync(string jobId, CancellationToken ct) =>
        OnOwnerAsync(jobId, (e, o) => e.Channel.UnaryAsync<CancelJobRequest, Job>(Service + "CancelJob", new CancelJobRequest { JobId = jobId }, o), ct);

    public Task<InspectReply> InspectAsync(string adapterId, bool layers, CancellationToken ct) =>
        OnOwnerAsync(adapterId, (e, o) => e.Channel.UnaryAsync<InspectRequest, InspectReply>(Service + "InspectAdapter",
            new InspectRequest { AdapterId = adapterId, IncludeLayers = layers }, o), ct);

    public async Task<IReadOnlyList<Job>> ListJobsAsync(int limit, CancellationToken ct)
    {
        var replies = await OnEachAsync((e, o) => e.Channel.UnaryAsync<ListJobsRequest, ListJobsReply>(Service + "ListJobs", new ListJobsRequest { Limit = limit }, o), ct).ConfigureAwait(false);
        return replies.SelectMany(r => r.Reply.Jobs.Select(j => (j, r.Endpoint))).Select(x => { owners.TryAdd(x.j.JobId, x.Endpoint); return x.j; })
            .OrderByDescending(j => j.Created?.ToDateTimeOffset()).Take(limit > 0 ? limit : 50).ToArray();
    }

    public async Task<IReadOnlyList<ModelInfo>> ListModelsAsync(CancellationToken ct)
    {
        var replies = await OnEachAsync((e, o) => e.Channel.UnaryAsync<ListModelsRequest, ListModelsReply>(Service + "ListModels", new ListModelsRequest(), o), ct).ConfigureAwait(false);
        return replies.SelectMany(r => r.Reply.Models).DistinctBy(m => m.ModelId).ToArray();
    }

    /// <summary>Replays a job's events from <paramref name="fromSequence"/> and follows it live until it ends.</summary>
    public async IAsyncEnumerable<JobEvent> WatchAsync(string jobId, long fromSequence, [EnumeratorCancellation] CancellationToken ct)
    {
        var (call, first) = await OpenStreamAsync<WatchJobRequest, JobEvent>(jobId, "WatchJob", new WatchJobRequest { JobId = jobId, FromSequence = fromSequence }, ct).ConfigureAwait(false);
        await using (call.ConfigureAwait(false))
        {
            if (first is null) yield break;
            yield return first;
            while (await call.Enumerator.MoveNextAsync().ConfigureAwait(false)) yield return call.Enumerator.Current;
        }
    }

    /// <summary>Opens WatchJobs on <paramref name="endpoint"/> (every job's live events, no replay) and returns once
    /// the service is watching: its response headers have arrived, so no event published afterwards is missed.
    /// Disposing the handle ends the call.</summary>
    public async Task<StreamHandle<JobEvent>> OpenJobsFeedAsync(ServiceEndpoint endpoint, CancellationToken ct)
    {
        var call = endpoint.Channel.ServerStreaming<WatchJobsRequest, JobEvent>(Service + "WatchJobs", new WatchJobsRequest(), new CallOptions(CancellationToken: ct));
        var handle = new StreamHandle<JobEvent>(call, call.GetAsyncEnumerator(ct));
        try
        {
            await call.ResponseHeadersAsync.WaitAsync(ct).ConfigureAwait(false);
            // A trailers-only answer (UNIMPLEMENTED from an older service, UNAVAILABLE while it stops) ends the call
            // with its headers: that is a refusal, not a connection.
            if (Ended(call) is { StatusCode: not StatusCode.OK } refused) throw new RpcException(refused);
            return handle;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && !ct.IsCancellationRequested)
        {
            await handle.DisposeAsync().ConfigureAwait(false);
            MarkDown(endpoint, e);
            throw;
        }
        catch
        {
            await handle.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static Status? Ended<T>(ServerStreamingCall<T> call) where T : IMessage<T>, new()
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
    public async Task<IReadOnlyList<JobEvent>> EventsAsync(string jobId, long fromSequence, CancellationToken ct)
    {
        var job = await GetJobAsync(jobId, ct).ConfigureAwait(false);
        var events = new List<JobEvent>();
        if (Math.Max(fromSequence, 1) > job.LastSequence) return events;
        await foreach (var e in WatchAsync(jobId, fromSequence, ct).ConfigureAwait(false))
        {
            events.Add(e);
            if (JobEvents.Sequence(e) >= job.LastSequence) break;
        }
        return events;
    }

    /// <summary>Streams a stored file (adapter or image) in chunks; the first chunk is read before returning so that
    /// NOT_FOUND surfaces before a response starts.</summary>
    public async Task<Download> DownloadAsync(string id, bool adapter, CancellationToken ct)
    {
        var (call, first) = adapter
            ? await OpenStreamAsync<DownloadAdapterRequest, FileChunk>(id, "DownloadAdapter", new DownloadAdapterRequest { AdapterId = id }, ct).ConfigureAwait(false)
            : await OpenStreamAsync<DownloadImageRequest, FileChunk>(id, "DownloadImage", new DownloadImageRequest { ImageId = id }, ct).ConfigureAwait(false);
        return new Download(call, first);
    }

    /// <summary>A download: the first chunk (its name and size) and the rest.</summary>
    public sealed class Download(StreamHandle<FileChunk> call, FileChunk? first) : IAsyncDisposable
    {
        public FileChunk? First { get; } = first;

        public async IAsyncEnumerable<FileChunk> ChunksAsync()
        {
            if (First is null) yield break;
            yield return First;
            while (await call.Enumerator.MoveNextAsync().ConfigureAwait(false)) yield return call.Enumerator.Current;
        }

        public ValueTask DisposeAsync() => call.DisposeAsync();
    }

    /// <summary>An open server stream: the call and its enumerator (disposing cancels the call).</summary>
    public sealed class StreamHandle<T>(ServerStreamingCall<T> call, IAsyncEnumerator<T> enumerator) : IAsyncDisposable where T : IMessage<T>, new()
    {
        public IAsyncEnumerator<T> Enumerator { get; } = enumerator;

        public async ValueTask DisposeAsync()
        {
            await Enumerator.DisposeAsync().ConfigureAwait(false);
            call.Dispose();
        }
    }

    private async Task<Job> SubmitAsync<TReq, TEvent>(string method, TReq request, Func<TEvent, string> jobIdOf, CancellationToken ct)
        where TReq : IMessage<TReq> where TEvent : IMessage<TEvent>, new()
    {
        foreach (var endpoint in pool.Available())
        {
            try
            {
                string jobId;
                // The first event (queued) names the job; closing the stream does not stop the job.
                using (var call = endpoint.Channel.ServerStreaming<TReq, TEvent>(Service + method, request, new CallOptions(CancellationToken: ct)))
                {
                    await using var e = call.GetAsyncEnumerator(ct);
                    if (!await e.MoveNextAsync().ConfigureAwait(false)) throw new RpcException(new Status(StatusCode.Internal, $"{method} returned no event"));
                    jobId = jobIdOf(e.Current);
                }
                owners[jobId] = endpoint;
                LogSubmitted(logger, method, jobId, endpoint.Address);
                return await endpoint.Channel.UnaryAsync<GetJobRequest, Job>(Service + "GetJob", new GetJobRequest { JobId = jobId }, new CallOptions(CancellationToken: ct)).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && !ct.IsCancellationRequested)
            {
                MarkDown(endpoint, e);
            }
        }
        throw new ServiceUnavailableException(UnavailableReason());
    }

    private async Task<(StreamHandle<TRes> Call, TRes? First)> OpenStreamAsync<TReq, TRes>(string key, string method, TReq request, CancellationToken ct)
        where TReq : IMessage<TReq> where TRes : IMessage<TRes>, new() =>
        await OnOwnerAsync(key, async (e, o) =>
        {
            var call = e.Channel.ServerStreaming<TReq, TRes>(Service + method, request, o);
            var handle = new StreamHandle<TRes>(call, call.GetAsyncEnumerator(ct));
            try
            {
                var any = await handle.Enumerator.MoveNextAsync().ConfigureAwait(false);
                return (handle, any ? handle.Enumerator.Current : default);
            }
            catch
            {
                await handle.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }, ct).ConfigureAwait(false);

    /// <summary>Runs <paramref name="call"/> on the service that owns <paramref name="key"/>: the known owner, else
    /// each available service in turn until one does not answer NOT_FOUND.</summary>
    private async Task<T> OnOwnerAsync<T>(string key, Func<ServiceEndpoint, CallOptions, Task<T>> call, CancellationToken ct)
    {
        var options = new CallOptions(CancellationToken: ct);
        var candidates = owners.TryGetValue(key, out var known) ? [known] : pool.Available();
        RpcException? notFound = null;
        foreach (var endpoint in candidates)
        {
            try
            {
                var result = await call(endpoint, options).ConfigureAwait(false);
                owners.TryAdd(key, endpoint);
                return result;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && candidates.Count > 1)
            {
                notFound = e;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && !ct.IsCancellationRequested)
            {
                MarkDown(endpoint, e);
            }
        }
        throw notFound ?? (Exception)new ServiceUnavailableException(UnavailableReason());
    }

    private async Task<IReadOnlyList<(ServiceEndpoint Endpoint, T Reply)>> OnEachAsync<T>(Func<ServiceEndpoint, CallOptions, Task<T>> call, CancellationToken ct)
    {
        var results = new List<(ServiceEndpoint, T)>();
        foreach (var endpoint in pool.Available())
        {
            try
            {
                results.Add((endpoint, await call(endpoint, new CallOptions(CancellationToken: ct)).ConfigureAwait(false)));
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && !ct.IsCancellationRequested)
            {
                MarkDown(endpoint, e);
            }
        }
        return results.Count > 0 ? results : throw new ServiceUnavailableException(UnavailableReason());
    }

    private void MarkDown(ServiceEndpoint endpoint, RpcException e)
    {
        if (endpoint.Mark(false, e.Status.Detail)) LogDown(logger, endpoint.Address, e.Status.Detail);
    }

    private string UnavailableReason() =>
        "no GPU service is available (" + string.Join("; ", pool.Endpoints.Select(e => $"{e.Address}: {e.LastError ?? "unavailable"}")) + ")";

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method} job {JobId} queued on {Address}")]
    private static partial void LogSubmitted(ILogger logger, string method, string jobId, Uri address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GPU service {Address} is unavailable: {Reason}")]
    private static partial void LogDown(ILogger logger, Uri address, string reason);
}
