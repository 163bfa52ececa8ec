using TLoRA.Contracts.V1;

namespace TLoRA.WebUI.Backend;

/// <summary>
/// What the pages need from the GPU services. The gateway implements it in-process over its gRPC client, so a page
/// never goes through HTTP to reach its own host; browsers fetch images and adapters from the URLs it hands out.
/// Failures are thrown as <see cref="BackendException"/>.
/// </summary>
public interface IJobBackend
{
    Task<IReadOnlyList<ModelInfo>> ListModelsAsync(CancellationToken ct);

    Task<IReadOnlyList<Job>> ListJobsAsync(int limit, CancellationToken ct);

    Task<Job> GetJobAsync(string jobId, CancellationToken ct);

    Task<Job> SubmitTrainAsync(TrainRequest request, CancellationToken ct);

    Task<Job> SubmitSampleAsync(SampleRequest request, CancellationToken ct);

    Task<Job> CancelJobAsync(string jobId, CancellationToken ct);

    /// <summary>The job's stored events from <paramref name="fromSequence"/>, then live ones until its terminal event.</summary>
    IAsyncEnumerable<JobEvent> WatchAsync(string jobId, long fromSequence, CancellationToken ct);

    Task<InspectReply> InspectAsync(string adapterId, bool layers, CancellationToken ct);

    /// <summary>The largest training image the gateway accepts.</summary>
    long MaxUploadBytes { get; }

    /// <summary>Where a browser downloads a stored image (PNG).</summary>
    string ImageUrl(string imageId);

    /// <summary>Where a browser downloads an adapter (.safetensors).</summary>
    string AdapterUrl(string adapterId);
}
