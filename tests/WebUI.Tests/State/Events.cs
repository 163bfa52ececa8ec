using TLoRA.Gateway.Api;
using static TLoRA.Gateway.Api.JobEventTypes;

namespace TLoRA.WebUI.Tests.State;

/// <summary>Events as the gateway sends them, for one job, with times a test controls.</summary>
internal sealed class Events(string jobId)
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private long sequence;

    public DateTimeOffset Now { get; set; } = T0;

    public JobEventDto Next(string type, object data) => new(jobId, ++sequence, Now, type, FinalTypes.Contains(type), data);

    public JobEventDto Queued(int position = 1) => Next(JobEventTypes.Queued, new QueuedData(position));

    public JobEventDto Preparing(string stage, long done = 0, long total = 0) => Next(JobEventTypes.Preparing, new PreparingData(stage, done, total));

    public JobEventDto Started(int total, string method = Methods.TLoRA, int rank = 4, int minRank = 2, int startStep = 0) =>
        Next(TrainStarted, new TrainStartedData(total, startStep, method, rank, minRank, 1.0, "a photo of sks robot", 10, 1000));

    public JobEventDto Step(int step, int total, double loss = 0.5, int rank = 3, double seconds = 1) =>
        Next(TrainStep, new TrainStepData(step, total, loss, 500, rank, 1e-4, 1 / seconds, (total - step) * seconds));

    public JobEventDto Previews(int step, int index, int count, int denoising, int denoisingSteps) =>
        Next(TrainPreviews, new TrainPreviewsData(step, index, count, denoising, denoisingSteps));

    public JobEventDto Checkpoint(int step) => Next(TrainCheckpoint, new TrainCheckpointData(step, $"{jobId}-s{step}", $"/api/adapters/{jobId}-s{step}",
        [new PreviewDto("a sks robot in the snow", 0, $"{jobId}-s{step}-p0", $"/api/images/{jobId}-s{step}-p0", null, 64, 64)]));

    public JobEventDto Completed(int steps) => Next(TrainCompleted, new TrainCompletedData($"{jobId}-final", $"/api/adapters/{jobId}-final", steps, 0.1, 3.5, 60));

    /// <summary>The same event again (a replay after a reconnect, or history overlapping live).</summary>
    public static JobEventDto Again(JobEventDto e) => e with { };
}
