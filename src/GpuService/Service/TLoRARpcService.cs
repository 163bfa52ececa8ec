using System.Security.Cryptography;
using Google.Protobuf;
using TLoRA.Engine.Adapters;
using TLoRA.Engine.IO;
using TLoRA.GpuService.Jobs;
using TLoRA.Rpc;
using TLoRA.Rpc.Server;
using TLoRA.Rpc.V1;

namespace TLoRA.GpuService.Service;

/// <summary>
/// tlora.v1.TLoRAService over the job system. Train and Sample queue a job and stream its events; a client that
/// disconnects only stops its own stream (the job goes on; WatchJob re-attaches). Refusals map to precise codes:
/// INVALID_ARGUMENT naming the field, NOT_FOUND, RESOURCE_EXHAUSTED (queue full), FAILED_PRECONDITION.
/// </summary>
public sealed class TLoRARpcService(JobManager jobs, ModelCatalog catalog)
{
    public const int DefaultChunkSize = 1 << 20;
    public const int MaxChunkSize = 3 << 20;

    public async Task Train(TrainRequest request, IServerStreamWriter<TrainEvent> responseStream, ServerCallContext context)
    {
        var job = Guard(() => jobs.SubmitTrain(request));
        await foreach (var e in jobs.Bus.Watch(job.JobId, 1, context.CancellationToken).ConfigureAwait(false))
            await responseStream.WriteAsync(e.Train, context.CancellationToken).ConfigureAwait(false);
    }

    public async Task Sample(SampleRequest request, IServerStreamWriter<SampleEvent> responseStream, ServerCallContext context)
    {
        var job = Guard(() => jobs.SubmitSample(request));
        await foreach (var e in jobs.Bus.Watch(job.JobId, 1, context.CancellationToken).ConfigureAwait(false))
            await responseStream.WriteAsync(e.Sample, context.CancellationToken).ConfigureAwait(false);
    }

    public Task<InspectReply> InspectAdapter(InspectRequest request, ServerCallContext context)
    {
        var path = AdapterPath(request.AdapterId, "adapter_id");
        AdapterSpec spec;
        AdapterMetadata meta;
        using (var file = ShardedCheckpoint.Open(path))
        {
            spec = AdapterFile.ReadSpec(file);
            meta = AdapterMetadata.From(file.Metadata);
        }
        var processors = AdapterFile.ReadProcessors(path);
        IReadOnlyList<Engine.Adapters.LayerInspection> layers;
        try
        {
            layers = AdapterInspector.Inspect(processors);
        }
        finally
        {
            foreach (var (_, p) in processors) p.Dispose();
        }
        var reply = new InspectReply
        {
            Adapter = new AdapterInfo
            {
                AdapterId = request.AdapterId, Method = RequestMapping.ToProto(spec.Method), Rank = spec.Rank, MinRank = spec.MinRank, Alpha = spec.Alpha,
                BaseModel = meta.BaseModel ?? "", Trigger = meta.Trigger ?? "", ClassWord = meta.ClassWord ?? "", Steps = meta.Steps ?? 0, Seed = meta.Seed ?? 0,
                SizeBytes = new FileInfo(path).Length,
            },
            Summary = RequestMapping.ToProto(AdapterInspector.Summarise(layers)),
        };
        if (request.IncludeLayers) reply.Layers.AddRange(layers.Select(RequestMapping.ToProto));
        return Task.FromResult(reply);
    }

    public Task<Job> GetJob(GetJobRequest request, ServerCallContext context) => Task.FromResult(Guard(() => jobs.Get(Required(request.JobId, "job_id"))));

    public Task<ListJobsReply> ListJobs(ListJobsRequest request, ServerCallContext context)
    {
        if (request.Limit < 0) throw Invalid("limit", "must not be negative");
        var reply = new ListJobsReply();
        foreach (var j in jobs.Store.List(request.Limit > 0 ? Math.Min(request.Limit, 1000) : 50, request.Kind))
        {
            j.QueuePosition = j.State == JobState.Queued ? jobs.Queue.PositionOf(j.JobId) : 0;
            reply.Jobs.Add(j);
        }
        return Task.FromResult(reply);
    }

    public Task<Job> CancelJob(CancelJobRequest request, ServerCallContext context) => Task.FromResult(Guard(() => jobs.Cancel(Required(request.JobId, "job_id"))));

    public Task<Job> ResumeJob(ResumeJobRequest request, ServerCallContext context) => Task.FromResult(Guard(() => jobs.Resume(Required(request.JobId, "job_id"))));

    public async Task WatchJob(WatchJobRequest request, IServerStreamWriter<JobEvent> responseStream, ServerCallContext context)
    {
        var job = Guard(() => jobs.Get(Required(request.JobId, "job_id")));
        if (request.FromSequence < 0) throw Invalid("from_sequence", "must not be negative");
        await foreach (var e in jobs.Bus.Watch(job.JobId, request.FromSequence, context.CancellationToken).ConfigureAwait(false))
            await responseStream.WriteAsync(e, context.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every job's live events until the client cancels or the service stops (no replay). The response
    /// headers go out once the bus subscription is in place, so a client holding them misses no later event.</summary>
    public async Task WatchJobs(WatchJobsRequest request, IServerStreamWriter<JobEvent> responseStream, ServerCallContext context)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var events = jobs.Bus.WatchAll(stop.Token).GetAsyncEnumerator(stop.Token);
        await using (events.ConfigureAwait(false))
        {
            // The first MoveNextAsync subscribes synchronously, then waits for an event while the headers go out.
            var next = events.MoveNextAsync();
            try
            {
                await context.WriteResponseHeadersAsync(new Metadata()).ConfigureAwait(false);
            }
            catch
            {
                // End the pending read before the enumerator is disposed (an iterator cannot be disposed mid-read).
                await stop.CancelAsync().ConfigureAwait(false);
                try
                {
                    await next.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
                throw;
            }
            while (await next.ConfigureAwait(false))
            {
                await responseStream.WriteAsync(events.Current, context.CancellationToken).ConfigureAwait(false);
                next = events.MoveNextAsync();
            }
        }
    }

    public Task<ListModelsReply> ListModels(ListModelsRequest request, ServerCallContext context)
    {
        var reply = new ListModelsReply();
        reply.Models.AddRange(catalog.List());
        return Task.FromResult(reply);
    }

    public Task DownloadAdapter(DownloadAdapterRequest request, IServerStreamWriter<FileChunk> responseStream, ServerCallContext context) =>
        SendFile(AdapterPath(request.AdapterId, "adapter_id"), request.ChunkSize, responseStream, context.CancellationToken);

    public Task DownloadImage(DownloadImageRequest request, IServerStreamWriter<FileChunk> responseStream, ServerCallContext context)
    {
        var id = Required(request.ImageId, "image_id");
        var path = jobs.Store.ArtifactPath(id, "image") ?? throw new RpcException(new Status(StatusCode.NotFound, $"no image '{id}'"));
        return SendFile(path, request.ChunkSize, responseStream, context.CancellationToken);
    }

    private string AdapterPath(string adapterId, string field)
    {
        var id = Required(adapterId, field);
        var path = jobs.Store.ArtifactPath(id, "adapter") ?? throw new RpcException(new Status(StatusCode.NotFound, $"no adapter '{id}'"));
        return File.Exists(path) ? path : throw new RpcException(new Status(StatusCode.NotFound, $"adapter '{id}' is recorded but its file is gone"));
    }

    private static async Task SendFile(string path, int chunkSize, IServerStreamWriter<FileChunk> stream, CancellationToken cancellation)
    {
        if (chunkSize < 0 || chunkSize > MaxChunkSize) throw Invalid("chunk_size", $"must be in 1..{MaxChunkSize} (0: {DefaultChunkSize})");
        var size = chunkSize == 0 ? DefaultChunkSize : chunkSize;
        await using var file = File.OpenRead(path);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[size];
        long offset = 0;
        var total = file.Length;
        do
        {
            var n = await file.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellation).ConfigureAwait(false);
            hash.AppendData(buffer, 0, n);
            var chunk = new FileChunk { FileName = Path.GetFileName(path), Offset = offset, TotalSize = total, Data = ByteString.CopyFrom(buffer, 0, n) };
            offset += n;
            if (offset >= total) chunk.Sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
            await stream.WriteAsync(chunk, cancellation).ConfigureAwait(false);
        }
        while (offset < total);
    }

    private static string Required(string value, string field) =>
        string.IsNullOrWhiteSpace(value) ? throw Invalid(field, "required") : value;

    private static RpcException Invalid(string field, string message) => new(new Status(StatusCode.InvalidArgument, $"{field}: {message}"));

    private static T Guard<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (JobRequestException e)
        {
            throw new RpcException(new Status(e.Error switch
            {
                JobError.InvalidArgument => StatusCode.InvalidArgument,
                JobError.NotFound => StatusCode.NotFound,
                JobError.ResourceExhausted => StatusCode.ResourceExhausted,
                _ => StatusCode.FailedPrecondition,
            }, e.Message));
        }
    }
}
