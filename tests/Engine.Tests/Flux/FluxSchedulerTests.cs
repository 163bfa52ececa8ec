using System.Text.Json;
using TLoRA.Engine.Adapters;
using TLoRA.Engine.Flux;
using TLoRA.Engine.Schedulers;
using TLoRA.Engine.Vae;
using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace TLoRA.Engine.Tests.Flux;

/// <summary>FlowMatchEulerDiscreteScheduler against diffusers 0.32 on the flux-tiny scheduler config.</summary>
public sealed class FluxSchedulerTests(ITestOutputHelper output)
{
    private static SchedulerConfig Config => SchedulerConfig.Load(Path.Combine(FixturePaths.FluxTiny, "scheduler"));

    internal static JsonElement Cases(string key)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixturePaths.FluxTiny, "reference_cases.json")));
        return doc.RootElement.GetProperty(key).Clone();
    }

    private static void Exact(string name, IReadOnlyList<float> actual)
    {
        using var scope = torch.NewDisposeScope();
        Parity.AssertClose(FluxReferenceOutputs.Read(name), torch.tensor(actual.ToArray()), name, rel: 0, abs: 0);
    }

    [Fact]
    public void Config_binds_the_flow_matching_fields()
    {
        var c = Config;
        Assert.Equal("FlowMatchEulerDiscreteScheduler", c.ClassName);
        Assert.True(c.UseDynamicShifting);
        Assert.Equal((256, 4096, 0.5, 1.15, 3.0, 1000), (c.BaseImageSeqLen, c.MaxImageSeqLen, c.BaseShift, c.MaxShift, c.Shift, c.NumTrainTimesteps));
        var defaults = new SchedulerConfig();
        Assert.Equal((1.0, false, 256, 4096), (defaults.Shift, defaults.UseDynamicShifting, defaults.BaseImageSeqLen, defaults.MaxImageSeqLen));
    }

    [Fact]
    public void Training_schedule_is_bit_exact()
    {
        var s = new FlowMatchEulerDiscreteScheduler(Config);
        Exact("sched.train_timesteps", s.TrainTimesteps);
        Exact("sched.train_sigmas", s.TrainSigmas);
        Assert.Equal(s.TrainTimesteps, s.Timesteps);
        Assert.Equal(s.TrainSigmas, s.Sigmas);
        Assert.Equal(1f, s.SigmaMax);
        Assert.Equal(s.TrainSigmas[^1], s.SigmaMin);
    }

    [Fact]
    public void Mu_follows_calculate_shift()
    {
        var s = new FlowMatchEulerDiscreteScheduler(Config);
        var c = Cases("scheduler");
        var seqLen = c.GetProperty("image_seq_len").GetInt32();
        Assert.Equal(c.GetProperty("mu").GetDouble(), s.Mu(seqLen));
        using var mu = FluxReferenceOutputs.Read("sched.mu");
        Assert.Equal(mu.ToArray<float>()[0], (float)s.Mu(seqLen));

        // 1024×1024 pixels: (1024 / (2·vae_scale_factor))² packed tokens
        var vsf = FluxLatents.VaeScaleFactor(ConfigJson.LoadComponent<AutoencoderKLConfig>(Path.Combine(FixturePaths.FluxTiny, "vae")));
        var side = 1024 / (2 * vsf);
        Assert.Equal(c.GetProperty("mu_1024x1024").GetDouble(), s.Mu(side * side));
        Assert.Equal(s.Mu(seqLen), FlowMatchEulerDiscreteScheduler.CalculateShift(seqLen, 256, 4096, 0.5, 1.15));

        var sample = Cases("sample");
        var (h, w) = FluxLatents.LatentSize(sample.GetProperty("height").GetInt32(), sample.GetProperty("width").GetInt32(), vsf);
        Assert.Equal(sample.GetProperty("image_seq_len").GetInt32(), h / 2 * (w / 2));
        Assert.Equal(sample.GetProperty("mu").GetDouble(), s.Mu(h / 2 * (w / 2)));
    }

    [Fact]
    public void Set_timesteps_with_a_step_count_and_mu_is_bit_exact()
    {
        var s = new FlowMatchEulerDiscreteScheduler(Config);
        using var reference = FluxReferenceOutputs.Read("sched.n4_timesteps");
        var steps = (int)reference.size(0);
        s.SetTimesteps(steps, Cases("scheduler").GetProperty("mu").GetDouble());
        Assert.Equal(steps, s.NumInferenceSteps);
        Exact("sched.n4_timesteps", s.Timesteps);
        Exact("sched.n4_sigmas", s.Sigmas);
        Assert.Equal(0f, s.Sigmas[^1]);
    }

    [Fact]
    public void Pipeline_sigmas_with_mu_are_bit_exact()
    {
        var c = Cases("sample");
        var n = c.GetProperty("num_inference_steps").GetInt32();
        var sigmasIn = FlowMatchEulerDiscreteScheduler.PipelineSigmas(n);
        Assert.Equal(c.GetProperty("sigmas_in").EnumerateArray().Select(e => e.GetDouble()), sigmasIn);
        var s = new FlowMatchEulerDiscreteScheduler(Config);
        s.SetTimesteps(sigmasIn, c.GetProperty("mu").GetDouble());
        Exact("sample.timesteps", s.Timesteps);
        Exact("sample.sigmas", s.Sigmas);
        Assert.Equal(Cases("sample_tlora").GetProperty("timesteps").EnumerateArray().Select(e => e.GetSingle()), s.Timesteps);
    }

    [Fact]
    public void Euler_steps_reproduce_the_pipeline_latents()
    {
        using var scope = torch.NewDisposeScope();
        var c = Cases("sample");
        var s = new FlowMatchEulerDiscreteScheduler(Config);
        s.SetTimesteps(FlowMatchEulerDiscreteScheduler.PipelineSigmas(c.GetProperty("num_inference_steps").GetInt32()), c.GetProperty("mu").GetDouble());
        var latents = FluxReferenceOutputs.Read("sample.initial_latents");
        for (var i = 0; i < s.Timesteps.Count; i++)
        {
            latents = s.Step(FluxReferenceOutputs.Read($"sample.noise_pred_{i}"), s.Timesteps[i], latents);
            Assert.Equal(i + 1, s.StepIndex);
            output.WriteLine(Parity.AssertClose(FluxReferenceOutputs.Read($"sample.latents_{i}"), latents, $"sample.latents_{i}").ToString());
        }
        Parity.AssertClose(FluxReferenceOutputs.Read("sample.final_latents"), latents, "sample.final_latents");
        Assert.Throws<InvalidOperationException>(() => s.Step(latents, 0f, latents));
    }

    [Fact]
    public void Training_draw_picks_the_reference_index_timestep_sigma_and_rank()
    {
        var s = new FlowMatchEulerDiscreteScheduler(Config);
        var c = Cases("train");
        var u = c.GetProperty("u").GetSingle();
        Assert.Equal(c.GetProperty("index").GetInt32(), s.TrainingIndex(u));
        var (sigma, timestep) = s.TrainingSigmaAt(u);
        Assert.Equal(c.GetProperty("timestep").GetSingle(), timestep);
        Assert.Equal(c.GetProperty("sigma").GetSingle(), sigma);
        var t = Cases("tlora");
        var schedule = new RankSchedule(t.GetProperty("rank").GetInt32(), t.GetProperty("min_rank").GetInt32(),
            T: t.GetProperty("max_timestep").GetDouble(), Kind: RankScheduleKind.Linear).Validate();
        Assert.Equal(c.GetProperty("rank").GetInt32(), schedule.RankAt(timestep));

        // a seeded draw is torch.rand(1) followed by the same lookup
        using var rand = torch.rand([1], generator: new Generator(1234));
        Assert.Equal(s.TrainingSigmaAt(rand.item<float>()), s.SampleTrainingSigma(new Generator(1234)));
        Assert.Equal(s.TrainSigmas[^1], s.TrainingSigmaAt(0.99999994f).Sigma);
        Assert.Equal(1f, s.TrainingSigmaAt(0f).Sigma);
    }

    [Fact]
    public void Add_noise_is_the_trainers_interpolation()
    {
        using var scope = torch.NewDisposeScope();
        var x0 = torch.randn([1, 4, 2, 2], generator: new Generator(3));
        var noise = torch.randn([1, 4, 2, 2], generator: new Generator(4));
        var sigma = Cases("train").GetProperty("sigma").GetSingle();
        var sigmas = torch.full([1, 1, 1, 1], sigma);
        var expected = (1.0 - sigmas) * x0 + sigmas * noise; // the official trainer's tensor expression
        Parity.AssertClose(expected, FlowMatchEulerDiscreteScheduler.AddNoise(x0, noise, sigma), "noisy", rel: 0, abs: 0);
    }

    [Fact]
    public void Static_shift_matches_the_torch_expression_and_mu_is_required_when_dynamic()
    {
        using var scope = torch.NewDisposeScope();
        var config = Config with { UseDynamicShifting = false };
        var s = new FlowMatchEulerDiscreteScheduler(config);
        var t = config.NumTrainTimesteps;
        var plain = torch.arange(t, 0, -1, ScalarType.Float32) / (double)t;
        var shifted = config.Shift * plain / (1.0 + (config.Shift - 1) * plain);
        Parity.AssertClose(shifted, torch.tensor(s.TrainSigmas.ToArray()), "shifted sigmas", rel: 0, abs: 0);
        Parity.AssertClose(shifted * (double)t, torch.tensor(s.TrainTimesteps.ToArray()), "shifted timesteps", rel: 0, abs: 0);
        s.SetTimesteps(3); // no mu needed
        Assert.Equal(4, s.Sigmas.Count);

        var dynamic = new FlowMatchEulerDiscreteScheduler(Config);
        Assert.Throws<ArgumentException>(() => dynamic.SetTimesteps(4));
        Assert.Throws<ArgumentException>(() => dynamic.SetTimesteps([1.0, 0.5]));
        Assert.Throws<NotSupportedException>(() => new FlowMatchEulerDiscreteScheduler(Config with { InvertSigmas = true }));
        Assert.Throws<NotSupportedException>(() => new FlowMatchEulerDiscreteScheduler(Config with { UseKarrasSigmas = true }));
    }
}
