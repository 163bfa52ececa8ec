using TLoRA.Engine.Adapters;
using TLoRA.Engine.Flux;
using TLoRA.Engine.IO;
using TLoRA.Engine.Pipelines;
using TLoRA.Engine.Schedulers;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;
using R = TLoRA.Engine.Tests.FluxReferenceOutputs;

namespace TLoRA.Engine.Tests.Pipelines;

/// <summary>FluxPipeline against flux-tiny's references: prompt encoding, the 4-step sample (every step, the final
/// latents, the decoded image) without and with the reference Vanilla T-LoRA adapter (ranks recomputed per step), and
/// the official trainer's step from the reference's draws (output, loss, every gradient and their total norm).</summary>
public sealed class FluxParityTests(FluxPipelineFixture fixture, ITestOutputHelper output) : IClassFixture<FluxPipelineFixture>
{
    private FluxPipeline P => fixture.Pipeline;

    private ParityError Check(string name, Tensor actual, double rel = 1e-4, double abs = 1e-5)
    {
        var e = Parity.AssertClose(R.Read(name), actual, name, rel, abs);
        output.WriteLine(e.ToString());
        return e;
    }

    private static SampleOptions SampleCase()
    {
        var c = FluxPipelineFixture.Case("sample");
        return new SampleOptions([c.GetProperty("prompt").GetString()!], null, c.GetProperty("guidance_scale").GetDouble(),
            c.GetProperty("num_inference_steps").GetInt32(), 0, c.GetProperty("width").GetInt32(), c.GetProperty("height").GetInt32());
    }

    [Fact]
    public void Prompt_encoding_gives_the_pipelines_conditioning()
    {
        using var scope = torch.NewDisposeScope();
        using var embeds = P.text.Encode(SampleCase().Prompts[0], maxSequenceLength: P.MaxSequenceLength);
        Check("text.t5_last_hidden_state", embeds.prompt_embeds);
        Check("text.pooled", embeds.pooled_prompt_embeds);
        Check("vanilla.encoder_hidden_states", embeds.prompt_embeds);
        Check("vanilla.pooled_projections", embeds.pooled_prompt_embeds);
        Check("vanilla.txt_ids", embeds.text_ids, rel: 0, abs: 0);
    }

    [Fact]
    public void Sampling_schedule_uses_the_pipeline_sigmas_and_mu()
    {
        var c = FluxPipelineFixture.Case("sample");
        var o = SampleCase();
        var (h, w) = FluxLatents.LatentSize(o.Height, o.Width, P.VaeScaleFactor);
        var seqLen = h / 2 * (w / 2);
        Assert.Equal(c.GetProperty("image_seq_len").GetInt32(), seqLen);
        var scheduler = new FlowMatchEulerDiscreteScheduler(P.SchedulerConfig);
        var mu = scheduler.Mu(seqLen);
        Assert.Equal(c.GetProperty("mu").GetDouble(), mu, 1e-12);
        scheduler.SetTimesteps(FlowMatchEulerDiscreteScheduler.PipelineSigmas(o.Steps), mu);
        using var scope = torch.NewDisposeScope();
        Check("sample.timesteps", scheduler.TimestepsTensor(), rel: 0, abs: 0); // bit-exact
        Check("sample.sigmas", scheduler.SigmasTensor(), rel: 0, abs: 0);
    }

    [Fact]
    public void Four_step_sample_matches_every_step_and_the_image()
    {
        var (latents, ranks) = Sample("sample", null);
        Assert.Empty(ranks);
        using var scope = torch.NewDisposeScope();
        var o = SampleCase();
        Check("sample.final_latents", latents, rel: 1e-3, abs: 0);
        Check("sample.image", P.DecodeRaw(latents, o.Height, o.Width), rel: 1e-3, abs: 0);
        Check("sample.image_pt", P.Decode(latents, o.Height, o.Width), rel: 1e-3, abs: 0);
        latents.Dispose();
    }

    [Fact]
    public void Four_step_sample_with_the_reference_adapter_recomputes_the_rank_every_step()
    {
        var tlora = FluxPipelineFixture.Case("tlora");
        using var network = AdapterFile.Load(P.transformer, FluxPipelineFixture.AdapterPath, defaultMinRank: tlora.GetProperty("min_rank").GetInt32());
        Assert.Equal(RankScheduleKind.Linear, network.Spec.Schedule);
        Assert.Equal(tlora.GetProperty("rank").GetInt32(), network.Spec.Rank);
        Assert.Equal(FluxPipelineFixture.ParamsWithoutGrad(), network.IgnoredKeys);
        var (latents, ranks) = Sample("sample_tlora", network);
        using var scope = torch.NewDisposeScope();
        Assert.Equal(R.Read("sample_tlora.ranks").ToArray<long>(), ranks.Select(r => (long)r.Rank));
        var timesteps = FluxPipelineFixture.Case("sample_tlora").GetProperty("timesteps").EnumerateArray().Select(e => e.GetDouble());
        Assert.Equal(timesteps, ranks.Select(r => r.Timestep));
        var o = SampleCase();
        Check("sample_tlora.final_latents", latents, rel: 1e-3, abs: 0);
        Check("sample_tlora.image", P.DecodeRaw(latents, o.Height, o.Width), rel: 1e-3, abs: 0);
        var plain = R.Read("sample.final_latents");
        Assert.True((latents - plain).abs().amax().ItemDouble() > 1e-3 * plain.abs().amax().ItemDouble(), "the adapter should change the sample");
        latents.Dispose();
    }

    /// <summary>Runs the loop from the reference's initial noise, checking <paramref name="prefix"/>.latents_i after each
    /// step; returns the final latents (caller disposes) and each step's (timestep, active rank) with an adapter.</summary>
    private (Tensor Latents, List<(double Timestep, int Rank)> Ranks) Sample(string prefix, AdapterNetwork? network)
    {
        using var scope = torch.NewDisposeScope();
        var o = SampleCase();
        var noise = R.Read("sample.initial_noise");
        var initial = FluxLatents.Pack(noise);
        Check("sample.initial_latents", initial, rel: 0, abs: 0);
        using var embeds = P.text.Encode(o.Prompts[0], maxSequenceLength: P.MaxSequenceLength);
        var ranks = new List<(double, int)>();
        var steps = 0;
        using var noGrad = torch.no_grad();
        var latents = new FluxSampler(P).Denoise(initial, embeds, o, network, (step, t, current) =>
        {
            Check($"{prefix}.latents_{step - 1}", current, rel: 1e-3, abs: 0);
            if (network?.Mask.Current is { } mask) ranks.Add((t, (int)mask.sum().ItemDouble()));
            steps = step;
        }, default);
        Assert.Equal(o.Steps, steps);
        return (latents.DetachFromDisposeScope(), ranks);
    }

    [Fact]
    public void Training_step_matches_output_loss_and_every_gradient()
    {
        var train = FluxPipelineFixture.Case("train");
        Assert.Equal(P.TrainerVaeScaleFactor, train.GetProperty("trainer_vae_scale_factor").GetInt32());
        using var scope = torch.NewDisposeScope();
        var u = R.Read("vanilla.u").item<float>();
        Assert.Equal(train.GetProperty("index").GetInt32(), P.NoiseScheduler.TrainingIndex(u));
        Assert.Equal(R.Read("vanilla.indices").ToArray<long>()[0], P.NoiseScheduler.TrainingIndex(u));
        var (sigma, timestep) = P.NoiseScheduler.TrainingSigmaAt(u);
        Assert.Equal(R.Read("vanilla.sigmas").item<float>(), sigma);
        Assert.Equal(R.Read("vanilla.timesteps").item<float>(), timestep);

        // x0 from the reference's posterior sample, then its noise and σ
        Check("vanilla.latent_sample", R.Read("vanilla.posterior_mean") + R.Read("vanilla.posterior_std") * R.Read("vanilla.sample_eps"));
        var x0 = P.ModelInput(R.Read("vanilla.latent_sample"));
        Check("vanilla.model_input", x0);
        x0 = R.Read("vanilla.model_input");
        var noise = R.Read("vanilla.noise");
        var noisy = FlowMatchEulerDiscreteScheduler.AddNoise(x0, noise, sigma);
        Check("vanilla.noisy_model_input", noisy);
        Check("vanilla.packed_noisy_model_input", FluxLatents.Pack(noisy));
        var conditioning = new FluxPromptEmbeds(R.Read("vanilla.encoder_hidden_states"), R.Read("vanilla.pooled_projections"), R.Read("vanilla.txt_ids"));
        var (h, w) = ((int)x0.size(2), (int)x0.size(3));
        Check("vanilla.img_ids", FluxLatents.ImageIds(h / 2, w / 2), rel: 0, abs: 0);

        var tlora = FluxPipelineFixture.Case("tlora");
        using var network = AdapterFile.Load(P.transformer, FluxPipelineFixture.AdapterPath, defaultMinRank: tlora.GetProperty("min_rank").GetInt32());
        var withoutGrad = FluxPipelineFixture.ParamsWithoutGrad();
        Assert.Equal(withoutGrad, network.IgnoredKeys);
        network.SetMask(null);
        using (torch.no_grad())
        {
            var t = torch.full([1], timestep, ScalarType.Float32) / 1000.0;
            Check("vanilla.timestep_in", t, rel: 0, abs: 0);
            var guidance = torch.full([1], FluxPipeline.TrainerGuidance, ScalarType.Int64);
            Check("vanilla.out_nomask", P.Predict(FluxLatents.Pack(noisy), t, guidance, conditioning, FluxLatents.ImageIds(h / 2, w / 2)));
        }

        var step = P.TrainingStep(conditioning, x0, noise, sigma, timestep, network);
        Check("vanilla.mask", network.Mask.Current!, rel: 0, abs: 0);
        Assert.Equal(train.GetProperty("rank").GetInt32(), (int)network.Mask.Current!.sum().ItemDouble());
        Check("vanilla.out", step.PackedPrediction);
        Check("vanilla.model_pred", step.Prediction);
        Check("vanilla.target", step.Target);
        Check("vanilla.loss", step.Loss.reshape(1));
        Assert.Equal(train.GetProperty("loss").GetDouble(), step.Loss.ItemDouble(), 1e-4 * train.GetProperty("loss").GetDouble());
        step.Loss.backward();

        using var reference = SafetensorsFile.Open(R.Path);
        var expectedKeys = reference.Names.Where(n => n.StartsWith("vanilla.grad.", StringComparison.Ordinal)).Select(n => n["vanilla.grad.".Length..]).ToHashSet();
        var own = network.StateDict();
        Assert.Equal(expectedKeys.Order(StringComparer.Ordinal), own.Keys.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(withoutGrad, k => own.ContainsKey(k) || expectedKeys.Contains(k)); // no parameter, hence no gradient
        var worst = new ParityError("none", 0, 1);
        var squares = 0.0;
        foreach (var (key, parameter) in own)
        {
            Assert.True(parameter.grad is not null, $"{key} has no gradient");
            var e = Parity.AssertClose(R.Read($"vanilla.grad.{key}"), parameter.grad!, $"vanilla.grad.{key}", rel: 1e-3, abs: 0);
            if (e.Relative > worst.Relative) worst = e;
            squares += parameter.grad!.pow(2).sum().ItemDouble();
        }
        output.WriteLine($"worst of {own.Count} gradients: {worst}");
        Check("vanilla.grad_total_norm", torch.tensor(new[] { (float)Math.Sqrt(squares) }), rel: 1e-3, abs: 0);
        Assert.All(P.transformer.named_parameters().Where(p => !p.name.Contains(".processor.", StringComparison.Ordinal)),
            p => Assert.Null(p.parameter.grad));
    }

    [Fact]
    public void Training_loss_draws_posterior_noise_and_sigma_in_the_trainers_order()
    {
        using var scope = torch.NewDisposeScope();
        var pixels = R.Read("vanilla.pixel_values");
        using var image = new ConceptImage(pixels.clone(), (int)pixels.size(2), (int)pixels.size(3), 0, 0);
        using var example = P.PrepareTraining(image, FluxPipelineFixture.Case("train").GetProperty("instance_prompt").GetString()!);
        using var network = AdapterFile.Load(P.transformer, FluxPipelineFixture.AdapterPath);
        var (loss, timestep) = P.TrainingLoss(example, network, new Generator(123));

        var generator = new Generator(123);
        using var posterior = P.vae.encode(pixels);
        Check("vanilla.posterior_mean", posterior.mean);
        Check("vanilla.posterior_std", posterior.std);
        var eps = torch.randn(posterior.mean.shape, generator: generator);
        var x0 = P.ModelInput(posterior.mean + posterior.std * eps);
        var noise = torch.randn(x0.shape, generator: generator);
        var u = torch.rand([1], generator: generator).item<float>();
        var (sigma, t) = P.NoiseScheduler.TrainingSigmaAt(u);
        Assert.Equal(t, timestep);
        using var embeds = P.text.Encode(FluxPipelineFixture.Case("train").GetProperty("instance_prompt").GetString()!, maxSequenceLength: P.MaxSequenceLength);
        var expected = P.TrainingStep(embeds, x0, noise, sigma, t, network).Loss;
        Parity.AssertClose(expected, loss, "TrainingLoss", rel: 1e-6, abs: 0);
        Assert.Equal(network.Schedule.RankAt(t), (int)network.Mask.Current!.sum().ItemDouble());
    }
}
