using TLoRA.Engine.Adapters;
using TLoRA.Engine.Flux;
using TLoRA.Engine.IO;
using TLoRA.Engine.Pipelines;
using TLoRA.Engine.Tests.Training;
using TLoRA.Engine.Training;
using TLoRA.Engine.Vae;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Pipelines;

/// <summary>FluxPipeline as the CLI and the trainer use it: PipelineLoader picks it, its settings come from the folder's
/// configs, and an AdapterTrainer run of Vanilla T-LoRA on flux-tiny trains, checkpoints, previews and saves.</summary>
public sealed class FluxPipelineTests(FluxPipelineFixture fixture) : IClassFixture<FluxPipelineFixture>
{
    private FluxPipeline P => fixture.Pipeline;

    [Fact]
    public void PipelineLoader_picks_FluxPipeline_with_the_folders_settings()
    {
        using var pipeline = PipelineLoader.Load(FixturePaths.FluxTiny);
        var flux = Assert.IsType<FluxPipeline>(pipeline);
        var vae = ConfigJson.LoadComponent<AutoencoderKLConfig>(Path.Combine(FixturePaths.FluxTiny, "vae"));
        Assert.Equal("flux-tiny", flux.Name);
        Assert.Same(flux.transformer, flux.Denoiser);
        Assert.Equal(RankScheduleKind.Linear, flux.ScheduleKind);
        Assert.Equal(["to_q", "to_k", "to_v", "to_out", "add_q_proj", "add_k_proj", "add_v_proj"], flux.AdapterProjections);
        Assert.Equal(2 * (1 << (vae.block_out_channels.Length - 1)), flux.ResolutionMultiple);
        Assert.Equal(vae.sample_size, PipelineLoader.DefaultResolution(flux));
        Assert.Equal(512, FluxPromptEncoder.DefaultMaxSequenceLength); // FLUX.1-dev's max_sequence_length
        Assert.Equal(FluxPromptEncoder.DefaultMaxSequenceLength, flux.MaxSequenceLength);
        Assert.All(flux.transformer.parameters(), p => Assert.False(p.requires_grad));
        Assert.All(flux.vae.parameters(), p => Assert.False(p.requires_grad));
    }

    [Fact]
    public void A_folder_of_another_pipeline_is_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => FluxPipeline.Load(FixturePaths.SdxlTiny));
        Assert.Contains(SdxlPipeline.ClassName, ex.Message);
    }

    [Fact]
    public void Sampling_validates_sizes_and_gives_images_in_0_1()
    {
        var size = P.NativeResolution;
        Assert.Throws<ArgumentOutOfRangeException>(() => P.Sample(new SampleOptions(["a dog"], Steps: 1, Width: size + P.ResolutionMultiple / 2, Height: size),
            null, null, default));
        var baseline = LiveTensors.Count;
        var liveAtSteps = new List<long>();
        P.Sample(new SampleOptions(["a dog"], GuidanceScale: 3.5, Steps: 3, Seed: 3, Width: size, Height: size),
            null, new SyncProgress<SampleProgress>(_ => liveAtSteps.Add(LiveTensors.Count)), default).Dispose();
        Assert.Equal(3, liveAtSteps.Count);
        Assert.All(liveAtSteps, n => Assert.Equal(liveAtSteps[0], n)); // flat from step to step
        Assert.Equal(baseline, LiveTensors.Count); // a sampling run leaves nothing behind
        using var scope = torch.NewDisposeScope();
        var images = P.Sample(new SampleOptions(["a dog", "a cat"], GuidanceScale: 3.5, Steps: 2, Seed: 3, Width: size, Height: size, ImagesPerPrompt: 2),
            null, null, default);
        Assert.Equal(new long[] { 4, 3, size, size }, images.shape);
        Assert.InRange(images.amin().ItemDouble(), 0, 1);
        Assert.InRange(images.amax().ItemDouble(), 0, 1);
        var again = P.Sample(new SampleOptions(["a dog"], GuidanceScale: 3.5, Steps: 2, Seed: 3, Width: size, Height: size, ImagesPerPrompt: 2),
            null, null, default);
        Parity.AssertClose(images.narrow(0, 0, 2), again, "same seed, same images", rel: 0, abs: 1e-6);
    }

    [Fact]
    public void AdapterTrainer_runs_vanilla_tlora_on_flux_tiny()
    {
        using var dir = new TempDir();
        var options = new TrainingOptions
        {
            Method = AdapterMethod.VanillaTLoRA, Rank = 4, MinRank = 2, Steps = 3, CheckpointInterval = 2, Resolution = P.NativeResolution,
            Seed = 7, LearningRate = 1e-3, ValidationPrompts = ["a {0} on the beach"], PreviewSteps = 2, PreviewGuidance = 3.5,
            Trigger = "sks", ClassWord = "robot",
        };
        var events = new List<TrainEvent>();
        var liveAtSteps = new List<long>();
        var baseline = LiveTensors.Count;
        using (var image = ConceptImage.Load(AdapterTrainerTests.ConceptPath, options.Resolution))
            foreach (var e in new AdapterTrainer(P, options, dir.Path).Run(image))
            {
                events.Add(e);
                if (e is TrainStep) liveAtSteps.Add(LiveTensors.Count);
            }
        Assert.All(liveAtSteps, n => Assert.Equal(liveAtSteps[0], n)); // flat from step to step
        Assert.Equal(baseline, LiveTensors.Count); // nothing left once the run is over
        Assert.Equal(["TrainStarted", "TrainStep", "TrainStep", "TrainCheckpoint", "TrainStep", "TrainCheckpoint", "TrainCompleted"],
            events.Select(e => e.GetType().Name));
        var started = (TrainStarted)events[0];
        Assert.Equal(P.transformer.config.num_layers + P.transformer.config.num_single_layers, started.AdaptedLayers);
        Assert.Equal(RankScheduleKind.Linear, started.Spec.Schedule);
        var schedule = started.Spec.RankSchedule();
        foreach (var s in events.OfType<TrainStep>())
        {
            Assert.True(double.IsFinite(s.Loss) && s.Loss > 0);
            Assert.InRange(s.Timestep, 0, P.SchedulerConfig.NumTrainTimesteps);
            Assert.Equal(schedule.RankAt(s.Timestep), s.Rank);
        }
        var checkpoint = events.OfType<TrainCheckpoint>().First();
        Assert.Equal(2, checkpoint.Step);
        var preview = Assert.Single(checkpoint.Previews);
        Assert.Equal("a sks robot on the beach", preview.Prompt);
        using (var decoded = ImageCodec.DecodeRgb(File.ReadAllBytes(preview.Path)))
            Assert.Equal(new long[] { options.Resolution, options.Resolution, 3 }, decoded.shape);
        var done = (TrainCompleted)events[^1];
        using (var file = ShardedCheckpoint.Open(done.AdapterPath))
        {
            var spec = AdapterFile.ReadSpec(file);
            Assert.Equal(AdapterMethod.VanillaTLoRA, spec.Method);
            Assert.Equal(RankScheduleKind.Linear, spec.Schedule);
            Assert.Equal(P.AdapterProjections, spec.TargetProjections);
            Assert.Equal(new AdapterMetadata(P.Name, "sks", "robot", 3, 7), AdapterMetadata.From(file.Metadata));
        }
        Assert.True(done.Summary.MeanEffectiveRank > 0);
        Assert.All(P.transformer.attention_layers(), a => Assert.Null(a.attention.processor));
        using var loaded = AdapterFile.Load(P.transformer, done.AdapterPath);
        Assert.Empty(loaded.IgnoredKeys);
    }
}
