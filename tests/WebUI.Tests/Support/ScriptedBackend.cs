using System.Runtime.CompilerServices;
using System.Threading.Channels;
using TLoRA.Contracts.V1;
using TLoRA.WebUI.Backend;

namespace TLoRA.WebUI.Tests.Support;

/// <summary>A backend whose WatchAsync serves scripted events and failures, recording every call's from-sequence.</summary>
internal sealed class ScriptedBackend(Job job) : IJobBackend
{
    /// <summary>Each WatchAsync call takes the next script: the events it yields, then an optional failure.</summary>
    public Queue<(JobEvent[] Events, BackendException? Then)> Scripts { get; } = new();

    public List<long> WatchedFrom { get; } = [];

    public Channel<JobEvent> Live { get; } = Channel.CreateUnbounded<JobEvent>();

    public long MaxUploadBytes => 1024;

    public async IAsyncEnumerable<JobEvent> WatchAsync(string jobId, long fromSequence, [EnumeratorCancellation] CancellationToken ct)
    {
        lock (WatchedFrom) WatchedFrom.Add(fromSequence);
        if (Scripts.TryDequeue(out var script))
        {
            foreach (var e in script.Events)
            {
                await Task.Yield();
                yield return e;
            }
            if (script.Then is { } failure) throw failure;
        }
        await foreach (var e in Live.Reader.ReadAllAsync(ct)) yield return e;
    }

    public Task<Job> GetJobAsync(string jobId, CancellationToken ct) =>
        jobId == job.JobId ? Task.FromResult(job) : throw new BackendException(404, "Not found", $"unknown job '{jobId}'", null);

    public Task<IReadOnlyList<ModelInfo>> ListModelsAsync(CancellationToken ct) => throw new NotSupportedException();
    public Task<IReadOnlyList<Job>> ListJobsAsync(int limit, CancellationToken ct) => throw new NotSupportedException();
    public Task<Job> SubmitTrainAsync(TrainRequest request, CancellationToken ct) => throw new NotSupportedException();
    public Task<Job> SubmitSampleAsync(SampleRequest request, CancellationToken ct) => throw new NotSupportedException();
    public Task<Job> CancelJobAsync(string jobId, CancellationToken ct) => throw new NotSupportedException();
    public Task<InspectReply> InspectAsync(string adapterId, bool layers, CancellationToken ct) => throw new NotSupportedException();
    public string ImageUrl(string imageId) => $"/api/images/{imageId}";
    public string AdapterUrl(string adapterId) => $"/api/adapters/{adapterId}";
}
