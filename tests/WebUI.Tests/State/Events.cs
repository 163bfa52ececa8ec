using Google.Protobuf;
using TLoRA.Rpc.V1;

namespace TLoRA.WebUI.Tests.State;

/// <summary>Builds tlora.v1 job events for the state tests.</summary>
internal static class Events
{
    public static JobEvent Train(string job, long seq, Action<TrainEvent> fill)
    {
        var e = new TrainEvent { JobId = job, Sequence = seq };
        fill(e);
        return new JobEvent { Train = e };
    }

    public static JobEvent Sample(string job, long seq, Action<SampleEvent> fill)
    {
        var e = new SampleEvent { JobId = job, Sequence = seq };
        fill(e);
        return new JobEvent { Sample = e };
    }

    public static JobEvent Queued(string job, long seq, int position) => Train(job, seq, e => e.Queued = new Queued { Position = position });

    public static JobEvent Started(string job, long seq, int total, int start = 0) => Train(job, seq, e => e.Started = new TrainStarted
    {
        TotalSteps = total, StartStep = start, Method = AdapterMethod.Tlora, Rank = 4, MinRank = 2, Alpha = 1, Prompt = "a photo of sks robot",
    });

    public static JobEvent Step(string job, long seq, int step, int total, double loss, double t = 500, int rank = 3) => Train(job, seq, e => e.Step = new TrainStep
    {
        Step = step, TotalSteps = total, Loss = loss, Timestep = t, Rank = rank, StepsPerSecond = 2, EtaSeconds = (total - step) / 2.0,
    });

    public static JobEvent Checkpoint(string job, long seq, int step, string adapter, byte[] thumbnail) => Train(job, seq, e =>
    {
        e.Checkpoint = new TrainCheckpoint { Step = step, AdapterId = adapter };
        e.Checkpoint.Previews.Add(new Preview { Prompt = "a sks robot", Index = 0, ImageId = $"{adapter}-p0", ThumbnailPng = ByteString.CopyFrom(thumbnail), Width = 64, Height = 64 });
    });
}
