using Google.Protobuf;
using TLoRA.Contracts.V1;

namespace TLoRA.WebUI.Tests.State;

/// <summary>Builds tlora.v1 job events for the state tests.</summary>
internal static class Events
{
    public static JobEvent Of(string job, long seq, Action<JobEvent> fill)
    {
        var e = new JobEvent { JobId = job, Sequence = seq };
        fill(e);
        return e;
    }

    public static JobEvent Queued(string job, long seq, int position) => Of(job, seq, e => e.Queued = new Queued { Position = position });

    public static JobEvent Started(string job, long seq, int total, int start = 0) => Of(job, seq, e => e.TrainStarted = new TrainStarted
    {
        TotalSteps = total, StartStep = start, Method = AdapterMethod.Tlora, Rank = 4, MinRank = 2, Alpha = 1, Prompt = "a photo of sks robot",
    });

    public static JobEvent Step(string job, long seq, int step, int total, double loss, double t = 500, int rank = 3) => Of(job, seq, e => e.TrainStep = new TrainStep
    {
        Step = step, TotalSteps = total, Loss = loss, Timestep = t, Rank = rank, StepsPerSecond = 2, EtaSeconds = (total - step) / 2.0,
    });

    public static JobEvent Previews(string job, long seq, int step, int index, int count) => Of(job, seq, e => e.TrainPreviews = new TrainPreviews
    {
        Step = step, Index = index, Count = count, DenoisingStep = 1, DenoisingSteps = 2,
    });

    public static JobEvent Checkpoint(string job, long seq, int step, string adapter, byte[] thumbnail) => Of(job, seq, e =>
    {
        e.TrainCheckpoint = new TrainCheckpoint { Step = step, AdapterId = adapter };
        e.TrainCheckpoint.Previews.Add(new Preview { Prompt = "a sks robot", Index = 0, ImageId = $"{adapter}-p0", ThumbnailPng = ByteString.CopyFrom(thumbnail), Width = 64, Height = 64 });
    });
}
