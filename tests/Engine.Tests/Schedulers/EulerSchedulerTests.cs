using TLoRA.Engine.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Schedulers;

/// <summary>Trailing and linspace spacing, the Euler step and guidance, checked against values derived by hand from the
/// formulas (the training schedule recomputed here in float64).</summary>
public sealed class EulerSchedulerTests
{
    // SD-XL's scheduler config, written here (not read from a fixture): the hand-derived values below are for it
    private static readonly SchedulerConfig Sdxl = new()
    {
        ClassName = "EulerDiscreteScheduler",
        NumTrainTimesteps = 1000, BetaStart = 0.00085, BetaEnd = 0.012, BetaSchedule = "scaled_linear", TrainedBetas = null,
        TimestepSpacing = "leading", StepsOffset = 1, PredictionType = "epsilon", InterpolationType = "linear",
        UseKarrasSigmas = false,
    };

    // σ_t = sqrt((1 − ᾱ_t)/ᾱ_t), ᾱ_t = Π (1 − β), β = (√0.00085 + t·(√0.012 − √0.00085)/999)², all in float64.
    private static readonly double[] TrainSigmas = ComputeTrainSigmas();

    private static double[] ComputeTrainSigmas()
    {
        double s0 = Math.Sqrt(0.00085), s1 = Math.Sqrt(0.012), product = 1;
        var sigmas = new double[1000];
        for (var t = 0; t < 1000; t++)
        {
            var beta = Math.Pow(s0 + t * (s1 - s0) / 999, 2);
            product *= 1 - beta;
            sigmas[t] = Math.Sqrt((1 - product) / product);
        }
        return sigmas;
    }

    private static EulerDiscreteScheduler Make(string spacing, int steps, string prediction = "epsilon")
    {
        var s = new EulerDiscreteScheduler(Sdxl with { TimestepSpacing = spacing, StepsOffset = 0, PredictionType = prediction });
        s.SetTimesteps(steps);
        return s;
    }

    private static void AssertSigmas(double[] expected, IReadOnlyList<float> actual)
    {
        Assert.Equal(expected.Length, actual.Count);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 2e-6 * expected[0], $"sigma {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [InlineData(4, new float[] { 999, 749, 499, 249 })]
    [InlineData(3, new float[] { 999, 666, 332 })] // 1000 − i·333.33…, rounded
    [InlineData(6, new float[] { 999, 832, 666, 499, 332, 166 })]
    [InlineData(16, new float[] { 999, 937, 874, 811, 749, 687, 624, 561, 499, 437, 374, 311, 249, 187, 124, 61 })] // x.5 rounds to even
    public void Trailing_spacing(int steps, float[] expected)
    {
        var s = Make("trailing", steps);
        Assert.Equal(expected, s.Timesteps);
        AssertSigmas(expected.Select(t => TrainSigmas[(int)t]).Append(0).ToArray(), s.Sigmas);
        Assert.Equal(s.Sigmas[0], s.InitNoiseSigma); // trailing: σ_max itself
    }

    [Fact]
    public void Linspace_spacing_interpolates_between_training_sigmas()
    {
        var s = Make("linspace", 5);
        Assert.Equal([999f, 749.25f, 499.5f, 249.75f, 0f], s.Timesteps);
        double Lerp(int t, double w) => TrainSigmas[t] + w * (TrainSigmas[t + 1] - TrainSigmas[t]);
        AssertSigmas([TrainSigmas[999], Lerp(749, 0.25), Lerp(499, 0.5), Lerp(249, 0.75), TrainSigmas[0], 0], s.Sigmas);
        Assert.Equal(s.Sigmas[0], s.InitNoiseSigma);
        var three = Make("linspace", 3);
        Assert.Equal([999f, 499.5f, 0f], three.Timesteps);
    }

    [Fact]
    public void Leading_spacing_adds_the_offset_and_lifts_the_initial_sigma()
    {
        var s = new EulerDiscreteScheduler(Sdxl);
        s.SetTimesteps(10);
        Assert.Equal([901f, 801, 701, 601, 501, 401, 301, 201, 101, 1], s.Timesteps);
        AssertSigmas(s.Timesteps.Select(t => TrainSigmas[(int)t]).Append(0).ToArray(), s.Sigmas);
        Assert.Equal(Math.Sqrt(TrainSigmas[901] * TrainSigmas[901] + 1), s.InitNoiseSigma, 1e-5);
    }

    [Fact]
    public void Euler_steps_on_constant_inputs()
    {
        using var scope = torch.NewDisposeScope();
        var s = Make("trailing", 4);
        var sigma = s.Sigmas;
        var x = torch.full([1, 4, 2, 2], 2.0);
        var eps = torch.full([1, 4, 2, 2], 0.5);
        var scaled = s.ScaleModelInput(x, 999);
        Assert.Equal(0, s.StepIndex);
        AssertAll(2 / Math.Sqrt(sigma[0] * sigma[0] + 1), scaled);
        // x0 = x − σ·ε, derivative (x − x0)/σ = ε, x_next = x + ε·(σ_next − σ)
        var next = s.Step(eps, 999, x);
        Assert.Equal(1, s.StepIndex);
        AssertAll(2 + 0.5 * (sigma[1] - sigma[0]), next);
        for (var i = 1; i < 4; i++) next = s.Step(eps, s.Timesteps[i], next);
        AssertAll(2 - 0.5 * sigma[0], next); // the steps telescope down to σ = 0
        Assert.Throws<InvalidOperationException>(() => s.Step(eps, 0, next));
    }

    [Fact]
    public void V_prediction_step()
    {
        using var scope = torch.NewDisposeScope();
        var s = Make("leading", 4, "v_prediction");
        double sg = s.Sigmas[0], sn = s.Sigmas[1];
        var x0 = 0.5 * -sg / Math.Sqrt(sg * sg + 1) + 2 / (sg * sg + 1);
        var expected = 2 + (2 - x0) / sg * (sn - sg);
        AssertAll(expected, s.Step(torch.full([2, 3], 0.5), s.Timesteps[0], torch.full([2, 3], 2.0)));
    }

    [Fact]
    public void Step_index_comes_from_the_timestep_or_the_begin_index()
    {
        using var scope = torch.NewDisposeScope();
        var s = Make("trailing", 4);
        Assert.Equal(2, s.IndexForTimestep(499));
        Assert.Throws<ArgumentException>(() => s.IndexForTimestep(500));
        var x = torch.ones(1, 1);
        AssertAll(1 / Math.Sqrt(s.Sigmas[2] * s.Sigmas[2] + 1), s.ScaleModelInput(x, 499));
        s.SetTimesteps(4);
        Assert.Null(s.StepIndex);
        s.SetBeginIndex(3);
        AssertAll(1 / Math.Sqrt(s.Sigmas[3] * s.Sigmas[3] + 1), s.ScaleModelInput(x, 999));
        Assert.Equal(3, s.StepIndex);
    }

    [Fact]
    public void Before_set_timesteps_the_schedule_is_the_training_one()
    {
        var s = new EulerDiscreteScheduler(Sdxl);
        var t = Sdxl.NumTrainTimesteps;
        Assert.Equal(t, s.Timesteps.Count);
        Assert.Equal([t - 1f, t - 2f], s.Timesteps.Take(2));
        Assert.Equal(0f, s.Timesteps[^1]);
        Assert.Equal(t + 1, s.Sigmas.Count);
        AssertSigmas([TrainSigmas[t - 1], TrainSigmas[t - 2]], s.Sigmas.Take(2).ToArray());
        Assert.Equal(0f, s.Sigmas[^1]);
        Assert.Null(s.NumInferenceSteps);
    }

    [Fact]
    public void Unsupported_settings_are_rejected()
    {
        Assert.Throws<NotSupportedException>(() => new EulerDiscreteScheduler(Sdxl with { UseKarrasSigmas = true }));
        Assert.Throws<NotSupportedException>(() => new EulerDiscreteScheduler(Sdxl with { TimestepSpacing = "uniform" }));
        Assert.Throws<NotSupportedException>(() => new EulerDiscreteScheduler(Sdxl with { BetaSchedule = "sigmoid" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EulerDiscreteScheduler(Sdxl).SetTimesteps(0));
    }

    [Fact]
    public void Classifier_free_guidance()
    {
        using var scope = torch.NewDisposeScope();
        var uncond = torch.tensor(new float[] { 1, -1 }, 1, 2);
        var cond = torch.tensor(new float[] { 3, 0 }, 1, 2);
        Assert.Equal([11f, 4f], ClassifierFreeGuidance.Combine(uncond, cond, 5.0).ToArray<float>());
        Assert.Equal([11f, 4f], ClassifierFreeGuidance.Combine(torch.cat([uncond, cond]), 5.0).ToArray<float>());
        Assert.Equal([1f, -1f], ClassifierFreeGuidance.Combine(uncond, cond, 0).ToArray<float>());
    }

    private static void AssertAll(double expected, Tensor actual)
    {
        foreach (var v in actual.ToArray<float>())
            Assert.True(Math.Abs(v - expected) <= 1e-6 * Math.Max(1, Math.Abs(expected)), $"expected {expected}, got {v}");
    }
}
