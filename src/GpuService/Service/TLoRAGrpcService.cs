using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using TLoRA.Contracts.V1;
using TLoRA.Engine.Adapters;
using TLoRA.Engine.IO;
using TLoRA.GpuService.Jobs;

namespace TLoRA.GpuService.Service;

/// <summary>
/// tlora.v1.TLoRAService over the job system. SubmitTrain/SubmitSample queue a job and return it; Train and Sample
/// queue one and stream its events (a client that disconnects only stops its own stream: the job goes on and WatchJob
/// re-attaches). Refusals are <see cref="JobRequestException"/>s, which <see cref="JobErrorInterceptor"/> turns into
/// statuses with rich details.
/// </summary>
public sealed class TLoRAGrpcService(JobManager jobs, ModelCatalog catalog, GpuServiceOptions options, ServiceStart start, StreamQuota streams)
    : TLoRAService.TLoRAServiceBase
{
    public const int DefaultChunkSize = 1 << 20;
    public const int MaxChunkSize = 3 << 20;

    /// <summary>The caller the gateway names in the call's metadata (trusted: only the gateway holds the service token).</summary>
    internal static Caller CallerOf(ServerCallContext context) =>
        Caller.From(context.RequestHeaders.GetValue(Caller.OwnerHeader), context.RequestHeaders.GetValue(Caller.ScopesHeader));

    public override Task<Job> SubmitTrain(TrainRequest request, ServerCallContext context) =>
        Task.FromResult(ToProto(jobs.SubmitTrain(request, CallerOf(context))));

    public override Task<Job> SubmitSample(SampleRequest request, ServerCallContext context) =>
        Task.FromResult(ToProto(jobs.SubmitSample(request, CallerOf(context))));

    public override async Task Train(TrainRequest request, IServerStreamWriter<JobEvent> responseStream, ServerCallContext context)
    {
        var caller = CallerOf(context);
        using var lease = streams.Enter(caller.Owner);
        await Follow(jobs.SubmitTrain(request, caller).JobId, 1, responseStream, context).ConfigureAwait(false);
    }

    public override async Task Sample(SampleRequest request, IServerStreamWriter<JobEvent> responseStream, ServerCallContext context)
    {
        var caller = CallerOf(context);
        using var lease = streams.Enter(caller.Owner);
        await Follow(jobs.SubmitSample(request, caller).JobId, 1, responseStream, context).ConfigureAwait(false);
    }

    public override Task<InspectReply> InspectAdapter(InspectRequest request, ServerCallContext context)
    {
        var path = AdapterPath(request.AdapterId, "adapter_id", CallerOf(context));
        AdapterSpec spec;
        AdapterMetadata meta;
        IReadOnlyList<Engine.Adapters.LayerInspection> layers;
        try
        {
            using (var file = ShardedCheckpoint.Open(path))
            {
                spec = AdapterFile.ReadSpec(file);
                meta = AdapterMetadata.From(file.Metadata);
            }
            var processors = AdapterFile.ReadProcessors(path);
            try
            {
                layers = AdapterInspector.Inspect(processors);
            }
            finally
            {
                foreach (var (_, p) in processors) p.Dispose();
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException or Engine.IO.StateDictException)
        {
            throw new JobRequestException(JobError.FailedPrecondition,
                $"adapter '{SafeText.Id(request.AdapterId)}' cannot be read: {SafeText.Brief(SafeText.WithoutPaths(e.Message, [options.DataDirectory]))}");
        }
        var reply = new InspectReply
        {
            Adapter = new AdapterInfo
            {
                AdapterId = request.AdapterId, Method = RequestMapping.ToProto(spec.Method), Rank = spec.Rank, MinRank = spec.MinRank, Alpha = spec.Alpha,
                BaseModel = meta.BaseModel ?? "", Trigger = meta.Trigger ?? "", ClassWord = meta.ClassWord ?? "", Steps = meta.Steps ?? 0,
                Seed = meta.Seed ?? 0, SizeBytes = new FileInfo(path).Length,
            },
            Summary = RequestMapping.ToProto(AdapterInspector.Summarise(layers)),
        };
        if (request.IncludeLayers) reply.Layers.AddRange(layers.Select(RequestMapping.ToProto));
        return Task.FromResult(reply);
    }

    public override Task<Job> GetJob(GetJobRequest request, ServerCallContext context)
    {
        var record = jobs.Get(Required(request.JobId, "job_id"), CallerOf(context));
        var job = ToProto(record);
        job.Settings = jobs.Settings(record);
        return Task.FromResult(job);
    }

    public override Task<ListJobsReply> ListJobs(ListJobsRequest request, ServerCallContext context)
    {
        if (request.Limit < 0) throw JobRequestException.Invalid("limit", $"must not be negative, got {request.Limit}");
        var reply = new ListJobsReply();
        var caller = CallerOf(context);
        reply.Jobs.AddRange(jobs.Store.List(request.Limit > 0 ? Math.Min(request.Limit, 1000) : 50, JobMapping.ToKind(request.Kind),
            owner: caller.Admin ? null : caller.Owner).Select(ToProto));
        return Task.FromResult(reply);
    }

    public override Task<Job> CancelJob(CancelJobRequest request, ServerCallContext context) =>
        Task.FromResult(ToProto(jobs.Cancel(Required(request.JobId, "job_id"), CallerOf(context))));

    public override Task<DeleteJobReply> DeleteJob(DeleteJobRequest request, ServerCallContext context)
    {
        var id = Required(request.JobId, "job_id");
        return Task.FromResult(new DeleteJobReply { JobId = id, FreedBytes = jobs.Delete(id, CallerOf(context)) });
    }

    public override Task<Job> ResumeJob(ResumeJobRequest request, ServerCallContext context) =>
        Task.FromResult(ToProto(jobs.Resume(Required(request.JobId, "job_id"), CallerOf(context))));

    public override async Task WatchJob(WatchJobRequest request, IServerStreamWriter<JobEvent> responseStream, ServerCallContext context)
    {
        var problems = new List<FieldProblem>();
        if (string.IsNullOrWhiteSpace(request.JobId)) problems.Add(new FieldProblem("job_id", "required"));
        if (request.FromSequence < 0) problems.Add(new FieldProblem("from_sequence", $"must not be negative, got {request.FromSequence}"));
        if (problems.Count > 0) throw JobRequestException.Invalid(problems);
        var caller = CallerOf(context);
        var job = jobs.Get(request.JobId, caller);
        using var lease = streams.Enter(caller.Owner);
        await Follow(job.JobId, request.FromSequence, responseStream, context).ConfigureAwait(false);
    }

    private Task Follow(string jobId, long fromSequence, IServerStreamWriter<JobEvent> stream, ServerCallContext context) =>
        stream.WriteAllAsync(jobs.Bus.Watch(jobId, fromSequence, context.CancellationToken), context.CancellationToken);

    /// <summary>Every job's live events until the client cancels or the service stops (no replay). The response
    /// headers go out once the bus subscription is in place, so a client holding them misses no later event.</summary>
    public override async Task WatchJobs(WatchJobsRequest request, IServerStreamWriter<JobEvent> responseStream, ServerCallContext context)
    {
        var caller = CallerOf(context);
        using var lease = streams.Enter(caller.Owner);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var events = jobs.Bus.WatchAll(stop.Token).GetAsyncEnumerator(stop.Token);
        await using (events.ConfigureAwait(false))
        {
            // The first MoveNextAsync subscribes synchronously, then waits for an event while the headers go out.
            var next = events.MoveNextAsync();
            try
            {
                await context.WriteResponseHeadersAsync([]).ConfigureAwait(false);
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
                if (caller.Admin || jobs.OwnerOf(events.Current.JobId) == caller.Owner)
                    await responseStream.WriteAsync(events.Current, context.CancellationToken).ConfigureAwait(false);
                next = events.MoveNextAsync();
            }
        }
    }

    public override Task<ListModelsReply> ListModels(ListModelsRequest request, ServerCallContext context)
    {
        var reply = new ListModelsReply { TrainDefaults = RequestValidation.TrainDefaults(options) };
        reply.Models.AddRange(catalog.List());
        return Task.FromResult(reply);
    }

    public override Task DownloadAdapter(DownloadAdapterRequest request, IServerStreamWriter<FileChunk> responseStream, ServerCallContext context) =>
        SendFile(AdapterPath(request.AdapterId, "adapter_id", CallerOf(context)), request.ChunkSize, responseStream, context.CancellationToken);

    public override Task DownloadImage(DownloadImageRequest request, IServerStreamWriter<FileChunk> responseStream, ServerCallContext context)
    {
        var id = Required(request.ImageId, "image_id");
        var path = jobs.ArtifactPath(id, "image", CallerOf(context)) ?? throw JobRequestException.NotFound($"no image '{SafeText.Id(id)}'");
        return SendFile(path, request.ChunkSize, responseStream, context.CancellationToken);
    }

    public override Task<ServiceInfo> GetServiceInfo(GetServiceInfoRequest request, ServerCallContext context) => Task.FromResult(new ServiceInfo
    {
        ServiceId = jobs.ServiceId, QueuedJobs = jobs.Queue.Count, Running = jobs.IsRunning, QueueCapacity = jobs.Queue.Capacity,
        Device = options.Device, Dtype = options.Dtype, Started = Timestamp.FromDateTimeOffset(start.Time),
    });

    private Job ToProto(JobRecord job) => JobMapping.ToProto(job, jobs.ServiceId, jobs.Queue.PositionOf(job.JobId));

    private string AdapterPath(string adapterId, string field, Caller caller)
    {
        var id = Required(adapterId, field);
        var path = jobs.ArtifactPath(id, "adapter", caller) ?? throw JobRequestException.NotFound($"no adapter '{SafeText.Id(id)}'");
        return File.Exists(path) ? path : throw JobRequestException.NotFound($"adapter '{SafeText.Id(id)}' is recorded but its file is gone");
    }

    private static async Task SendFile(string path, int chunkSize, IServerStreamWriter<FileChunk> stream, CancellationToken cancellation)
    {
        if (chunkSize < 0 || chunkSize > MaxChunkSize)
            throw JobRequestException.Invalid("chunk_size", $"must be in 1..{MaxChunkSize} (0: {DefaultChunkSize}), got {chunkSize}");
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
        string.IsNullOrWhiteSpace(value) ? throw JobRequestException.Invalid(field, "required") : value;
}

/// <summary>When the service started (ServiceInfo.started).</summary>
public sealed record ServiceStart(DateTimeOffset Time);
