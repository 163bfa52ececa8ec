using TLoRA.Contracts.V1;
using TLoRA.Engine.Adapters;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Jobs;

namespace TLoRA.GpuService.Tests;

/// <summary>A job's preparing events: the model's load only when it is not in memory; T-LoRA's initialisation thinned
/// to its ends and at most one event per <see cref="JobPreparation.MinSeconds"/> and per 1/<see cref="JobPreparation.MaxUpdates"/>
/// of the projections, since every event is stored and replayed.</summary>
public sealed class JobPreparationTests
{
    [Theory]
    [InlineData(1000, 0.0, 2)] // instant: its first and last report only
    [InlineData(1000, 0.1, JobPreparation.MaxUpdates + 1)] // slow: one per 1 % of the projections (every 10th here)
    [InlineData(50, 1.0, 51)] // fewer projections than updates, each taking long: every one
    public void Initialisation_progress_is_thinned_by_time_and_by_share(int total, double secondsPerProjection, int expected)
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, start: false);
        var job = sys.Manager.SubmitTrain(JobSystem.TinyTrain());
        var clock = new ManualClock();
        var preparation = new JobPreparation(sys.Manager.Bus, job.JobId, clock);
        for (var done = 0; done <= total; done++)
        {
            preparation.Report(new InitialisationProgress(done, total));
            clock.Advance(secondsPerProjection);
        }
        var sent = sys.Store.Events(job.JobId).Where(e => e.EventCase == JobEvent.EventOneofCase.Preparing).Select(e => e.Preparing).ToList();
        Assert.Equal(expected, sent.Count);
        Assert.All(sent, p => Assert.Equal((PreparingStage.InitialisingAdapter, total), (p.Stage, p.Total)));
        Assert.Equal(0, sent[0].Done);
        Assert.Equal(total, sent[^1].Done);
        Assert.True(sent.Zip(sent.Skip(1)).All(x => x.First.Done < x.Second.Done));
    }

    [Fact]
    public void Loading_the_model_is_announced_only_when_it_is_not_in_memory()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, start: false);
        var job = sys.Manager.SubmitTrain(JobSystem.TinyTrain());
        var preparation = new JobPreparation(sys.Manager.Bus, job.JobId);
        var first = preparation.LoadModel(sys.Catalog, "sdxl-tiny");
        Assert.Same(first, preparation.LoadModel(sys.Catalog, "sdxl-tiny"));
        Assert.Throws<KeyNotFoundException>(() => preparation.LoadModel(sys.Catalog, "no-such-model"));
        // the load's first and last report (and, were it slow, some between), once
        var weights = Engine.Pipelines.PipelineLoader.WeightBytes(Path.Combine(FixturePaths.Root, "sdxl-tiny"));
        var sent = sys.Store.Events(job.JobId).Where(e => e.EventCase == JobEvent.EventOneofCase.Preparing).Select(e => e.Preparing).ToList();
        Assert.All(sent, p => Assert.Equal((PreparingStage.LoadingModel, weights), (p.Stage, p.Total)));
        Assert.Equal((0L, weights), (sent[0].Done, sent[^1].Done));
        Assert.True(sent.Zip(sent.Skip(1)).All(x => x.First.Done < x.Second.Done));
    }

    private sealed class ManualClock : TimeProvider
    {
        private long ticks;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public override long GetTimestamp() => ticks;
        public void Advance(double seconds) => ticks += (long)Math.Round(seconds * TimeSpan.TicksPerSecond);
    }
}
