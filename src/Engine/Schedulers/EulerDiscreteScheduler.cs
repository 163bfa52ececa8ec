using TorchSharp;
using static TorchSharp.torch;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Schedulers;

/// <summary>
/// diffusers' <c>EulerDiscreteScheduler</c> for sampling: "linspace", "leading" and "trailing" timestep spacing with
/// steps_offset, sigmas linearly interpolated (in float64, stored as float32) from the training schedule, a final 0,
/// <c>scale_model_input</c> and the plain Euler step (s_churn = 0) for epsilon, v_prediction and sample prediction.
/// Like diffusers it is stateful: the first <see cref="ScaleModelInput"/> or <see cref="Step"/> after
/// <see cref="SetTimesteps"/> finds the step index from the timestep, and each <see cref="Step"/> advances it.
/// </summary>
public sealed class EulerDiscreteScheduler
{
    private readonly float[] alphasCumprod;
    private readonly float[] trainSigmas;
    private float[] timesteps;
    private float[] sigmas;

    /// <summary>Builds the schedule of <paramref name="config"/>; before <see cref="SetTimesteps"/> the timesteps
    /// are the T training timesteps, descending, as in diffusers.</summary>
    /// <exception cref="NotSupportedException">A setting this port does not implement (Karras, exponential or beta
    /// sigmas, continuous timesteps, an unknown spacing, interpolation or prediction type).</exception>
    public EulerDiscreteScheduler(SchedulerConfig config)
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
        if (config.UseKarrasSigmas || config.UseExponentialSigmas || config.UseBetaSigmas)
            throw new NotSupportedException("Karras, exponential and beta sigmas are not supported");
        if (config.TimestepType != "discrete")
            throw new NotSupportedException($"timestep_type '{config.TimestepType}' is not supported (discrete)");
        if (config.PredictionType is not ("epsilon" or "v_prediction" or "sample" or "original_sample"))
            throw new NotSupportedException($"prediction_type '{config.PredictionType}' is not supported (epsilon, v_prediction, sample)");
        if (config.TimestepSpacing is not ("linspace" or "leading" or "trailing"))
            throw new NotSupportedException($"timestep_spacing '{config.TimestepSpacing}' is not supported (linspace, leading, trailing)");
        if (config.InterpolationType is not ("linear" or "log_linear"))
            throw new NotSupportedException($"interpolation_type '{config.InterpolationType}' is not supported (linear, log_linear)");
        if (config.FinalSigmasType is not ("zero" or "sigma_min"))
            throw new NotSupportedException($"final_sigmas_type '{config.FinalSigmasType}' is not supported (zero, sigma_min)");
        alphasCumprod = NoiseSchedule.AlphasCumprod(NoiseSchedule.Betas(config));
        trainSigmas = alphasCumprod.Select(NoiseSchedule.Sigma).ToArray();
        var t = trainSigmas.Length;
        timesteps = Enumerable.Range(0, t).Select(i => (float)(t - 1 - i)).ToArray();
        sigmas = trainSigmas.Reverse().Append(0f).ToArray();
    }

    /// <summary>Loads scheduler_config.json from a file or a scheduler folder.</summary>
    public static EulerDiscreteScheduler FromConfig(string path) => new(SchedulerConfig.Load(path));

    /// <summary>The configuration the schedule was built from.</summary>
    public SchedulerConfig Config { get; }

    /// <summary>ᾱ_t of the training schedule (float32).</summary>
    public IReadOnlyList<float> AlphasCumprod => alphasCumprod;

    /// <summary>Inference timesteps, descending (float32, as diffusers' <c>scheduler.timesteps</c>).</summary>
    public IReadOnlyList<float> Timesteps => timesteps;

    /// <summary>One sigma per timestep plus the final one (0 by default): Timesteps.Count + 1 values.</summary>
    public IReadOnlyList<float> Sigmas => sigmas;

    /// <summary>Number of inference steps of the last <see cref="SetTimesteps"/>, or null before.</summary>
    public int? NumInferenceSteps { get; private set; }

    /// <summary>The index of the next step, or null until the first scale/step call.</summary>
    public int? StepIndex { get; private set; }

    /// <summary>The index the first step starts at when set (img2img), or null: found from the timestep.</summary>
    public int? BeginIndex { get; private set; }

    /// <summary>Standard deviation of the initial latent noise: σ_max for "linspace" and "trailing" spacing,
    /// sqrt(σ_max² + 1) for "leading" (diffusers' rule, float32 arithmetic).</summary>
    public float InitNoiseSigma
    {
        get
        {
            var max = sigmas.Max();
            return Config.TimestepSpacing is "linspace" or "trailing" ? max : MathF.Sqrt(max * max + 1f);
        }
    }

    /// <summary>Timesteps as a float32 tensor [n] (CPU).</summary>
    public Tensor TimestepsTensor() => torch.tensor(timesteps);

    /// <summary>Sigmas as a float32 tensor [n + 1] (CPU).</summary>
    public Tensor SigmasTensor() => torch.tensor(sigmas);

    /// <summary>Sets the inference schedule of <paramref name="numInferenceSteps"/> steps; resets the step index.</summary>
    public void SetTimesteps(int numInferenceSteps)
    {
        var t = Config.NumTrainTimesteps;
        if (numInferenceSteps < 1 || numInferenceSteps > t)
            throw new ArgumentOutOfRangeException(nameof(numInferenceSteps), numInferenceSteps, $"steps must lie in [1, {t}]");
        var steps = EulerTimesteps.Spaced(Config.TimestepSpacing, numInferenceSteps, t, Config.StepsOffset);
        var interpolated = Config.InterpolationType == "linear"
            ? steps.Select(x => (float)EulerTimesteps.Interp(x, trainSigmas)).ToArray()
            : EulerTimesteps.LogLinear(trainSigmas, numInferenceSteps);
        var last = Config.FinalSigmasType == "sigma_min" ? trainSigmas[0] : 0f;
        timesteps = steps;
        sigmas = interpolated.Append(last).ToArray();
        NumInferenceSteps = numInferenceSteps;
        StepIndex = null;
        BeginIndex = null;
    }

    /// <summary>Makes the first step start at <paramref name="beginIndex"/> instead of looking the timestep up.</summary>
    public void SetBeginIndex(int beginIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(beginIndex);
        BeginIndex = beginIndex;
    }

    /// <summary>The index of <paramref name="timestep"/> in <see cref="Timesteps"/>; when it occurs more than once, the
    /// second occurrence (diffusers' rule, so a schedule entered midway does not skip a sigma).</summary>
    /// <exception cref="ArgumentException">The timestep is not in the schedule.</exception>
    public int IndexForTimestep(float timestep)
    {
        int first = -1, count = 0, second = -1;
        for (var i = 0; i < timesteps.Length; i++)
        {
            if (timesteps[i] != timestep) continue;
            if (count == 0) first = i;
            else if (count == 1) second = i;
            count++;
        }
        if (count == 0) throw new ArgumentException($"timestep {timestep} is not one of the scheduler's timesteps", nameof(timestep));
        return count > 1 ? second : first;
    }

    /// <summary>sample / sqrt(σ² + 1) for the current step (the UNet's input scaling).</summary>
    public Tensor ScaleModelInput(Tensor sample, float timestep)
    {
        ArgumentNullException.ThrowIfNull(sample);
        StepIndex ??= BeginIndex ?? IndexForTimestep(timestep);
        var sigma = sigmas[CheckIndex(StepIndex.Value)];
        return sample / Sc((double)MathF.Sqrt(sigma * sigma + 1f));
    }

    /// <summary>One Euler step from the current sigma to the next: x0 is predicted from the model output, the ODE
    /// derivative (x − x0)/σ is followed for dt = σ_next − σ. Computed in float32 (the sample is upcast), returned in
    /// the model output's dtype; advances <see cref="StepIndex"/>.</summary>
    public Tensor Step(Tensor modelOutput, float timestep, Tensor sample)
    {
        ArgumentNullException.ThrowIfNull(modelOutput);
        ArgumentNullException.ThrowIfNull(sample);
        StepIndex ??= BeginIndex ?? IndexForTimestep(timestep);
        var index = CheckIndex(StepIndex.Value);
        var sigma = sigmas[index];
        var sigmaHat = sigma; // s_churn = 0: γ = 0, σ̂ = σ·(γ + 1) = σ.

        using var scope = torch.NewDisposeScope();
        var x = sample.to(ScalarType.Float32);
        Tensor predOriginal;
        switch (Config.PredictionType)
        {
            case "epsilon":
                predOriginal = x - modelOutput * Sc((double)sigmaHat);
                break;
            case "v_prediction":
                var denominator = sigma * sigma + 1f;
                var cOut = -sigma / MathF.Sqrt(denominator);
                predOriginal = (modelOutput * Sc((double)cOut)).Plus(x / Sc((double)denominator));
                break;
            default:
                predOriginal = modelOutput;
                break;
        }
        var derivative = (x - predOriginal) / Sc((double)sigmaHat);
        var dt = sigmas[index + 1] - sigmaHat;
        var prev = (x.Plus(derivative * Sc((double)dt))).to(modelOutput.dtype);
        StepIndex = index + 1;
        return prev.MoveToOuterDisposeScope();
    }

    private int CheckIndex(int index) =>
        index >= 0 && index < sigmas.Length - 1
            ? index
            : throw new InvalidOperationException($"step index {index} is past the schedule's {sigmas.Length - 1} steps; call SetTimesteps again");
}
