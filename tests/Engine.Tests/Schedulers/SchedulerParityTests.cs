using TLoRA.Engine.IO;
using TLoRA.Engine.Schedulers;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace TLoRA.Engine.Tests.Schedulers;

/// <summary>The schedulers against diffusers' outputs in reference_outputs.safetensors.</summary>
public sealed class SchedulerParityTests(ITestOutputHelper output)
{
    private static string Reference => Path.Combine(FixturePaths.SdxlTiny, "reference_outputs.safetensors");
    private static SchedulerConfig FixtureConfig => SchedulerConfig.Load(Path.Combine(FixturePaths.SdxlTiny, "scheduler"));

    [Fact]
    public void Fixture_config_binds_by_json_names()
    {
        var c = FixtureConfig;
        var json = FixtureFacts.Json(FixturePaths.SdxlTiny, "scheduler", "scheduler_config.json");
        string S(string name) => json.GetProperty(name).GetString()!;
        Assert.Equal(S("_class_name"), c.ClassName);
        Assert.Equal(json.GetProperty("num_train_timesteps").GetInt32(), c.NumTrainTimesteps);
        Assert.Equal(json.GetProperty("beta_start").GetDouble(), c.BetaStart);
        Assert.Equal(json.GetProperty("beta_end").GetDouble(), c.BetaEnd);
        Assert.Equal(S("beta_schedule"), c.BetaSchedule);
        Assert.Equal(S("timestep_spacing"), c.TimestepSpacing);
        Assert.Equal(json.GetProperty("steps_offset").GetInt32(), c.StepsOffset);
        Assert.Equal(S("prediction_type"), c.PredictionType);
        Assert.Equal(S("interpolation_type"), c.InterpolationType);
        Assert.Equal(json.GetProperty("use_karras_sigmas").GetBoolean(), c.UseKarrasSigmas);
        Assert.Equal(json.GetProperty("trained_betas").ValueKind == System.Text.Json.JsonValueKind.Null, c.TrainedBetas is null);
    }

    [Fact]
    public void Ddpm_add_noise_matches_diffusers()
    {
        using var scope = torch.NewDisposeScope();
        using var file = SafetensorsFile.Open(Reference);
        var ddpm = new DDPMScheduler(FixtureConfig);
        var timesteps = file.Read("ddpm.timesteps");
        var noisy = ddpm.AddNoise(file.Read("ddpm.x0"), file.Read("ddpm.noise"), timesteps);
        var expected = file.Read("ddpm.noisy");
        output.WriteLine($"ddpm.noisy max |a-b| = {(noisy - expected).abs().amax().ItemDouble():G6}, max |b| = {expected.abs().amax().ItemDouble():G6}");
        Assert.Equal(expected.ToArray<float>(), noisy.ToArray<float>()); // bit-exact
    }

    [Fact]
    public void Euler_leading_timesteps_and_sigmas_match_diffusers()
    {
        using var scope = torch.NewDisposeScope();
        using var file = SafetensorsFile.Open(Reference);
        var euler = new EulerDiscreteScheduler(FixtureConfig);
        euler.SetTimesteps(4);
        var timesteps = euler.TimestepsTensor();
        var sigmas = euler.SigmasTensor();
        var expectedTimesteps = file.Read("sample.timesteps");
        var expectedSigmas = file.Read("sample.sigmas");
        Assert.Equal(expectedTimesteps.ToArray<float>(), timesteps.ToArray<float>());
        // bit-exact: the betas come from the reference stack's float32 linspace (TorchLinspace), not libtorch 2.10's,
        // which rounds a few of them one ulp away (σ at t = 751 then moved by 2 ulps)
        Assert.Equal(expectedSigmas.ToArray<float>(), sigmas.ToArray<float>());
        var max = sigmas.ToArray<float>().Max();
        Assert.Equal(MathF.Sqrt(max * max + 1f), euler.InitNoiseSigma); // "leading": sqrt(σ_max² + 1)
    }

    [Fact]
    public void Training_schedule_follows_the_scaled_linear_formula()
    {
        var ddpm = new DDPMScheduler(FixtureConfig);
        var (t, b0, b1) = (FixtureConfig.NumTrainTimesteps, FixtureConfig.BetaStart, FixtureConfig.BetaEnd);
        Assert.Equal(t, ddpm.Betas.Count);
        Assert.Equal(b0, ddpm.Betas[0], 1e-9);
        Assert.Equal(b1, ddpm.Betas[^1], 1e-9);
        var mid = Math.Pow(Math.Sqrt(b0) + t / 2 * (Math.Sqrt(b1) - Math.Sqrt(b0)) / (t - 1), 2);
        Assert.Equal(mid, ddpm.Betas[t / 2], 1e-8);
        var product = 1.0;
        for (var i = 0; i < t; i++) product *= 1 - ddpm.Betas[i];
        Assert.Equal(product, ddpm.AlphasCumprod[^1], 1e-9);
        var euler = new EulerDiscreteScheduler(FixtureConfig);
        Assert.Equal(ddpm.AlphasCumprod, euler.AlphasCumprod);
    }

    [Fact]
    public void Sampled_timesteps_are_uniform_integers_in_range_and_seeded()
    {
        using var scope = torch.NewDisposeScope();
        var ddpm = new DDPMScheduler(FixtureConfig);
        var a = ddpm.SampleTimesteps(4096, new Generator(7));
        var b = ddpm.SampleTimesteps(4096, new Generator(7));
        Assert.Equal(ScalarType.Int64, a.dtype);
        Assert.Equal([4096L], a.shape);
        Assert.Equal(a.ToArray<long>(), b.ToArray<long>());
        var values = a.ToArray<long>();
        Assert.All(values, v => Assert.InRange(v, 0, 999));
        Assert.InRange(values.Average(), 470, 530);
        Assert.Contains(values, v => v < 50);
        Assert.Contains(values, v => v > 950);
    }

    [Fact]
    public void Add_noise_rejects_bad_timesteps()
    {
        using var scope = torch.NewDisposeScope();
        var ddpm = new DDPMScheduler(FixtureConfig);
        var x = torch.zeros(2, 4, 2, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => ddpm.AddNoise(x, x, torch.tensor(new long[] { 0, 1000 })));
        Assert.Throws<ArgumentException>(() => ddpm.AddNoise(x, x, torch.tensor(new float[] { 0, 1 })));
    }
}
