using TLoRA.Engine.Adapters;
using TLoRA.Engine.IO;
using TLoRA.Engine.Pipelines;
using TLoRA.Engine.Tests.Pipelines;
using TLoRA.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Training;

public sealed class AdapterTrainerTests(SdxlPipelineFixture fixture) : IClassFixture<SdxlPipelineFixture>
{
    public static string ConceptPath => Path.Combine(FixturePaths.Root, "concept", "toy-robot.jpg");

    private static TrainingOptions Tiny(int steps = 4, int interval = 2) => new()
    {
        Rank = 4, MinRank = 2, Steps = steps, CheckpointInterval = interval, Resolution = 64, Seed = 7, LearningRate = 1e-3,
        ValidationPrompts = ["a {0} on the beach"], PreviewSteps = 2, Trigger = "sks", ClassWord = "robot",
    };

    private List<TrainEvent> Train(string dir, TrainingOptions options, string? resume = null, CancellationToken token = default)
        => TrainCounting(dir, options, resume, token).Events;

    /// <summary>Trains and records the live tensor count at every step event; asserts that it is the same at every
    /// step (AdamW's state appears in step 1, nothing after) and back at the baseline once the run is over.</summary>
    private (List<TrainEvent> Events, List<long> LiveAtSteps) TrainCounting(string dir, TrainingOptions options,
        string? resume = null, CancellationToken token = default)
    {
        var baseline = LiveTensors.Count;
        var events = new List<TrainEvent>();
        var live = new List<long>();
        using (var image = ConceptImage.Load(ConceptPath, options.Resolution))
            foreach (var e in new AdapterTrainer(fixture.Pipeline, options, dir).Run(image, resume, token))
            {
                events.Add(e);
                if (e is TrainStep) live.Add(LiveTensors.Count);
            }
        Assert.All(live, n => Assert.Equal(live[0], n));
        Assert.Equal(baseline, LiveTensors.Count);
        return (events, live);
    }

    [Fact]
    public void A_run_reports_every_step_saves_checkpoints_with_previews_and_a_final_adapter()
    {
        using var dir = new TempDir();
        var events = Train(dir.Path, Tiny());
        Assert.Equal(["TrainStarted", "TrainStep", "TrainStep", "TrainCheckpoint", "TrainStep", "TrainStep", "TrainCheckpoint", "TrainCompleted"],
            events.Select(e => e.GetType().Name));
        var started = (TrainStarted)events[0];
        Assert.Equal(FixtureFacts.AttentionLayers(Path.Combine(FixturePaths.SdxlTiny, "unet")), started.AdaptedLayers);
        var schedule = started.Spec.RankSchedule();
        foreach (var s in events.OfType<TrainStep>())
        {
            Assert.True(double.IsFinite(s.Loss) && s.Loss > 0);
            Assert.InRange(s.Timestep, 0, 999);
            Assert.Equal(schedule.RankAt(s.Timestep), s.Rank);
            Assert.True(s.StepsPerSecond > 0);
        }
        Assert.Equal([1, 2, 3, 4], events.OfType<TrainStep>().Select(s => s.Step));
        var checkpoint = events.OfType<TrainCheckpoint>().First();
        Assert.Equal(2, checkpoint.Step);
        foreach (var f in new[] { AdapterTrainer.AdapterFileName, AdapterTrainer.OptimizerFileName, AdapterTrainer.StateFileName })
            Assert.True(File.Exists(Path.Combine(checkpoint.Directory, f)), f);
        var preview = Assert.Single(checkpoint.Previews);
        Assert.Equal("a sks robot on the beach", preview.Prompt);
        using (var decoded = ImageCodec.DecodeRgb(File.ReadAllBytes(preview.Path))) Assert.Equal(new long[] { Tiny().Resolution, Tiny().Resolution, 3 }, decoded.shape);
        var done = (TrainCompleted)events[^1];
        using var file = ShardedCheckpoint.Open(done.AdapterPath);
        Assert.Equal(AdapterMethod.TLoRA, AdapterFile.ReadSpec(file).Method);
        Assert.Equal(new AdapterMetadata(fixture.Pipeline.Name, "sks", "robot", 4, 7), AdapterMetadata.From(file.Metadata));
        Assert.True(done.Summary.MeanEffectiveRank > 0); // the adapters moved away from their zero delta
        Assert.Null(fixture.Pipeline.unet.attention_layers().First().attention.processor); // detached afterwards
    }

    /// <summary>T-LoRA's initialisation is most of a large job's start: the trainer reports it, every projection it
    /// adapts once, before TrainStarted; LoRA (a random fill) and a resume (the checkpoint fills every weight) report
    /// nothing.</summary>
    [Fact]
    public void A_tlora_run_reports_its_initialisation_before_it_starts()
    {
        var projections = fixture.Pipeline.unet.attention_layers()
            .Sum(a => fixture.Pipeline.AdapterProjections.Count(a.attention.AdaptableProjections.ContainsKey));
        using var dir = new TempDir();
        var log = Record(dir.Path, Tiny(steps: 2));
        var initialisation = log.TakeWhile(x => x is InitialisationProgress).Cast<InitialisationProgress>().ToList();
        Assert.Equal(Enumerable.Range(0, projections + 1).Select(d => new InitialisationProgress(d, projections)), initialisation);
        Assert.IsType<TrainStarted>(log[initialisation.Count]);
        Assert.Equal(initialisation.Count, log.OfType<InitialisationProgress>().Count());

        using var resumed = new TempDir();
        var resumedLog = Record(resumed.Path, Tiny(steps: 2) with { ValidationPrompts = [] }, Path.Combine(dir.Path, "checkpoints", "step-000002"));
        Assert.IsType<TrainStarted>(resumedLog[0]);
        Assert.Empty(resumedLog.OfType<InitialisationProgress>());

        using var lora = new TempDir();
        var loraLog = Record(lora.Path, Tiny(steps: 1, interval: 1) with { Method = AdapterMethod.LoRA, ValidationPrompts = [] });
        Assert.IsType<TrainStarted>(loraLog[0]);
        Assert.Empty(loraLog.OfType<InitialisationProgress>());
    }

    /// <summary>The run's initialisation reports and events, in the order they came.</summary>
    private List<object> Record(string dir, TrainingOptions options, string? resume = null)
    {
        var log = new List<object>();
        using var image = ConceptImage.Load(ConceptPath, options.Resolution);
        foreach (var e in new AdapterTrainer(fixture.Pipeline, options, dir)
                     .Run(image, resume, default, null, new SyncProgress<InitialisationProgress>(p => log.Add(p))))
            log.Add(e);
        return log;
    }

    [Fact]
    public void Resuming_from_a_checkpoint_ends_exactly_where_an_uninterrupted_run_does()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var straight = (TrainCompleted)Train(a.Path, Tiny() with { ValidationPrompts = [] })[^1];
        var svds = OrthogonalLoRALinearLayer.SvdInitialisations;
        var resumed = Train(b.Path, Tiny() with { ValidationPrompts = [] }, Path.Combine(a.Path, "checkpoints", "step-000002"));
        Assert.Equal(svds, OrthogonalLoRALinearLayer.SvdInitialisations); // the checkpoint fills every weight: no SVD init
        Assert.Equal(2, ((TrainStarted)resumed[0]).StartStep);
        Assert.Equal([3, 4], resumed.OfType<TrainStep>().Select(s => s.Step));
        using var scope = torch.NewDisposeScope();
        using var fa = ShardedCheckpoint.Open(straight.AdapterPath);
        using var fb = ShardedCheckpoint.Open(((TrainCompleted)resumed[^1]).AdapterPath);
        foreach (var name in fa.Names) Assert.Equal(fa.Read(name).bytes.ToArray(), fb.Read(name).bytes.ToArray()); // bit-exact
    }

    /// <summary>The second run has a thread collecting garbage and running finalizers all the time, as a background GC
    /// can at any moment: a number handed to libtorch that the GC could free mid-op (TorchSharp's implicit Scalars)
    /// made runs fail or differ that way (bench/README.md, NaN in mid-size training).</summary>
    [Fact]
    public void Two_identical_runs_give_bit_identical_losses_and_adapters_even_under_garbage_collection()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var options = Tiny(steps: 3) with { ValidationPrompts = [] };
        var first = Train(a.Path, options);
        var stop = 0;
        var collector = new Thread(() =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        collector.Start();
        List<TrainEvent> second;
        try
        {
            second = Train(b.Path, options);
        }
        finally
        {
            Volatile.Write(ref stop, 1);
            collector.Join();
        }
        Assert.Equal(first.OfType<TrainStep>().Select(s => s.Loss), second.OfType<TrainStep>().Select(s => s.Loss));
        Assert.All(first.OfType<TrainStep>(), s => Assert.True(double.IsFinite(s.Loss)));
        using var scope = torch.NewDisposeScope();
        using var fa = ShardedCheckpoint.Open(((TrainCompleted)first[^1]).AdapterPath);
        using var fb = ShardedCheckpoint.Open(((TrainCompleted)second[^1]).AdapterPath);
        Assert.Equal(fa.Names.Order(), fb.Names.Order());
        foreach (var name in fa.Names) Assert.Equal(fa.Read(name).bytes.ToArray(), fb.Read(name).bytes.ToArray());
    }

    [Fact]
    public void Cancelling_stops_between_steps_and_keeps_saved_checkpoints()
    {
        using var dir = new TempDir();
        using var cts = new CancellationTokenSource();
        var baseline = LiveTensors.Count;
        var seen = new List<TrainEvent>();
        using (var image = ConceptImage.Load(ConceptPath, 64))
            Assert.Throws<OperationCanceledException>(() =>
            {
                foreach (var e in new AdapterTrainer(fixture.Pipeline, Tiny(steps: 10, interval: 1) with { ValidationPrompts = [] }, dir.Path).Run(image, null, cts.Token))
                {
                    seen.Add(e);
                    if (e is TrainCheckpoint { Step: 2 }) cts.Cancel();
                }
            });
        Assert.Equal(baseline, LiveTensors.Count);
        Assert.Equal(2, seen.OfType<TrainStep>().Count());
        Assert.True(File.Exists(Path.Combine(dir.Path, "checkpoints", "step-000002", AdapterTrainer.AdapterFileName)));
        Assert.False(File.Exists(Path.Combine(dir.Path, AdapterTrainer.AdapterFileName)));
        Assert.Null(fixture.Pipeline.unet.attention_layers().First().attention.processor);
    }

    /// <summary>T-LoRA's initialisation is minutes of a large model's job: a cancel that comes during it stops it.</summary>
    [Fact]
    public void Cancelling_before_the_first_step_stops_the_initialisation_too()
    {
        using var dir = new TempDir();
        var baseline = LiveTensors.Count;
        var draws = OrthogonalLoRALinearLayer.SvdInitialisations;
        using (var image = ConceptImage.Load(ConceptPath, 64))
            Assert.Throws<OperationCanceledException>(() =>
                new AdapterTrainer(fixture.Pipeline, Tiny() with { ValidationPrompts = [] }, dir.Path)
                    .Run(image, null, new CancellationToken(canceled: true)).ToList());
        Assert.Equal(draws, OrthogonalLoRALinearLayer.SvdInitialisations);
        Assert.Equal(baseline, LiveTensors.Count);
        Assert.Null(fixture.Pipeline.unet.attention_layers().First().attention.processor);
    }

    [Theory]
    [InlineData(nameof(TrainingOptions.Rank), 0, 8, 10)]
    [InlineData(nameof(TrainingOptions.MinRank), 4, 8, 10)]
    [InlineData(nameof(TrainingOptions.Steps), 4, 8, 0)]
    [InlineData(nameof(TrainingOptions.Resolution), 4, 60, 10)]
    public void Bad_options_name_the_field(string field, int rank, int resolution, int steps)
    {
        using var dir = new TempDir();
        var options = Tiny() with { Rank = rank, MinRank = field == nameof(TrainingOptions.MinRank) ? 5 : Math.Max(1, rank / 2), Resolution = resolution, Steps = steps };
        var baseline = LiveTensors.Count;
        using (var image = ConceptImage.Load(ConceptPath, 64))
        {
            var ex = Assert.ThrowsAny<ArgumentException>(() => new AdapterTrainer(fixture.Pipeline, options, dir.Path).Run(image).ToList());
            Assert.Contains(field, ex.Message);
        }
        Assert.Equal(baseline, LiveTensors.Count); // a failed run leaves nothing behind
    }

    [Fact]
    public void A_trained_adapter_changes_samples_and_scale_zero_removes_it()
    {
        using var dir = new TempDir();
        var done = (TrainCompleted)Train(dir.Path, Tiny() with { ValidationPrompts = [] })[^1];
        var options = new SampleOptions(["a photo of sks robot"], null, 5.0, 3, 11, 64, 64);
        var baseline = LiveTensors.Count;
        var liveAtSteps = new List<long>();
        var progress = new SyncProgress<SampleProgress>(_ => liveAtSteps.Add(LiveTensors.Count));
        fixture.Pipeline.Sample(options, null, progress, default).Dispose();
        Assert.Equal(options.Steps, liveAtSteps.Count);
        Assert.All(liveAtSteps, n => Assert.Equal(liveAtSteps[0], n)); // flat from step to step
        Assert.Equal(baseline, LiveTensors.Count); // a sampling run leaves nothing behind
        using var scope = torch.NewDisposeScope();
        var plain = fixture.Pipeline.Sample(options, null, null, default);
        using var network = AdapterFile.Load(fixture.Pipeline.unet, done.AdapterPath);
        var adapted = fixture.Pipeline.Sample(options, network, null, default);
        var off = fixture.Pipeline.Sample(options with { AdapterScale = 0 }, network, null, default);
        Assert.True((adapted - plain).abs().amax().ItemDouble() > 1e-4);
        Parity.AssertClose(plain, off, "scale 0", rel: 0, abs: 1e-6);
        Assert.Equal(1.0, network.Scale); // restored after sampling
    }
}
