using TorchSharp;
using static TorchSharp.torch;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Schedulers;

/// <summary>
/// diffusers' <c>FlowMatchEulerDiscreteScheduler</c> (FLUX.1): the rectified-flow schedule x_σ = (1 − σ)·x0 + σ·noise
/// with the model predicting noise − x0. The training schedule is built as diffusers does (timesteps T..1, σ = t/T in
/// float32, statically shifted unless dynamic shifting is on); <see cref="SetTimesteps(int, double?)"/> and
/// <see cref="SetTimesteps(IReadOnlyList{double}, double?)"/> reproduce its NumPy arithmetic (float64 for a step
/// count, float32 for explicit sigmas as FluxPipeline passes them), with a final σ = 0 appended. Stateful like
/// diffusers: the first <see cref="Step"/> after a SetTimesteps finds its index from the timestep.
/// </summary>
public sealed class FlowMatchEulerDiscreteScheduler
{
    private readonly float[] trainTimesteps;
    private readonly float[] trainSigmas;
    private float[] timesteps;
    private float[] sigmas;

    /// <summary>Builds the training schedule of <paramref name="config"/>; until <see cref="SetTimesteps(int, double?)"/>
    /// the timesteps and sigmas are the training ones (no final 0), as in diffusers.</summary>
    /// <exception cref="NotSupportedException">Karras, exponential or beta sigmas, inverted sigmas or a terminal shift.</exception>
    public FlowMatchEulerDiscreteScheduler(SchedulerConfig config)
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
        if (config.UseKarrasSigmas || config.UseExponentialSigmas || config.UseBetaSigmas)
            throw new NotSupportedException("Karras, exponential and beta sigmas are not supported");
        if (config.InvertSigmas) throw new NotSupportedException("invert_sigmas is not supported");
        if (config.ShiftTerminal is not null) throw new NotSupportedException("shift_terminal is not supported");
        var t = config.NumTrainTimesteps;
        if (t < 1) throw new ArgumentOutOfRangeException(nameof(config), t, "num_train_timesteps must be positive");

        // np.linspace(1, T, T, dtype=float32)[::-1]; sigmas = timesteps / T (torch float32)
        var line = Linspace(1, t, t);
        trainSigmas = new float[t];
        for (var i = 0; i < t; i++) trainSigmas[i] = (float)line[t - 1 - i] / (float)t;
        if (!config.UseDynamicShifting) trainSigmas = ShiftStatic(trainSigmas, config.Shift);
        trainTimesteps = trainSigmas.Select(s => s * (float)t).ToArray();
        timesteps = trainTimesteps;
        sigmas = trainSigmas;
    }

    /// <summary>Loads scheduler_config.json from a file or a scheduler folder.</summary>
    public static FlowMatchEulerDiscreteScheduler FromConfig(string path) => new(SchedulerConfig.Load(path));

    /// <summary>The configuration the schedule was built from.</summary>
    public SchedulerConfig Config { get; }

    /// <summary>The training timesteps σ·T (float32), descending: what the trainer draws from.</summary>
    public IReadOnlyList<float> TrainTimesteps => trainTimesteps;

    /// <summary>The training sigmas (float32), descending, one per training timestep.</summary>
    public IReadOnlyList<float> TrainSigmas => trainSigmas;

    /// <summary>Largest training σ (diffusers' sigma_max).</summary>
    public float SigmaMax => trainSigmas[0];

    /// <summary>Smallest training σ (diffusers' sigma_min).</summary>
    public float SigmaMin => trainSigmas[^1];

    /// <summary>Current timesteps σ·T, descending (float32, as diffusers' <c>scheduler.timesteps</c>).</summary>
    public IReadOnlyList<float> Timesteps => timesteps;

    /// <summary>Current sigmas: after SetTimesteps one per timestep plus the final 0.</summary>
    public IReadOnlyList<float> Sigmas => sigmas;

    /// <summary>Number of inference steps of the last SetTimesteps, or null before.</summary>
    public int? NumInferenceSteps { get; private set; }

    /// <summary>The index of the next step, or null until the first <see cref="Step"/>.</summary>
    public int? StepIndex { get; private set; }

    /// <summary>The index the first step starts at when set (img2img), or null: found from the timestep.</summary>
    public int? BeginIndex { get; private set; }

    /// <summary>Timesteps as a float32 tensor [n] (CPU).</summary>
    public Tensor TimestepsTensor() => torch.tensor(timesteps);

    /// <summary>Sigmas as a float32 tensor (CPU).</summary>
    public Tensor SigmasTensor() => torch.tensor(sigmas);

    /// <summary>FluxPipeline's <c>calculate_shift</c> (float64): μ linear in the packed image sequence length, through
    /// (base_seq_len, base_shift) and (max_seq_len, max_shift).</summary>
    public static double CalculateShift(int imageSeqLen, int baseSeqLen = 256, int maxSeqLen = 4096, double baseShift = 0.5, double maxShift = 1.15)
    {
        var m = (maxShift - baseShift) / (maxSeqLen - baseSeqLen);
        var b = baseShift - m * baseSeqLen;
        return imageSeqLen * m + b;
    }

    /// <summary><see cref="CalculateShift"/> with this config's base/max sequence lengths and shifts.</summary>
    public double Mu(int imageSeqLen) =>
        CalculateShift(imageSeqLen, Config.BaseImageSeqLen, Config.MaxImageSeqLen, Config.BaseShift, Config.MaxShift);

    /// <summary>diffusers' <c>time_shift</c> (float64): exp(μ) / (exp(μ) + (1/t − 1)^sigma).</summary>
    public static double TimeShift(double mu, double sigma, double t) => Math.Exp(mu) / (Math.Exp(mu) + Math.Pow(1 / t - 1, sigma));

    /// <summary>FluxPipeline's default sigmas: np.linspace(1, 1/n, n) (float64).</summary>
    public static double[] PipelineSigmas(int numInferenceSteps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numInferenceSteps, 1);
        return Linspace(1.0, 1.0 / numInferenceSteps, numInferenceSteps);
    }

    /// <summary>An inference schedule of <paramref name="numInferenceSteps"/> steps: σ evenly spaced (float64) from
    /// σ_max to σ_min, then shifted (dynamically by <paramref name="mu"/>, or statically); resets the step index.</summary>
    /// <exception cref="ArgumentException">Dynamic shifting without <paramref name="mu"/>.</exception>
    public void SetTimesteps(int numInferenceSteps, double? mu = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numInferenceSteps, 1);
        CheckMu(mu);
        var t = Config.NumTrainTimesteps;
        var line = Linspace((double)SigmaMax * t, (double)SigmaMin * t, numInferenceSteps);
        var shifted = new float[numInferenceSteps];
        for (var i = 0; i < numInferenceSteps; i++)
        {
            var s = line[i] / t;
            shifted[i] = (float)(Config.UseDynamicShifting ? TimeShift(mu!.Value, 1.0, s) : Config.Shift * s / (1 + (Config.Shift - 1) * s));
        }
        Apply(shifted);
    }

    /// <summary>An inference schedule from explicit sigmas (cast to float32, then shifted in float32 as NumPy does on
    /// a float32 array), e.g. <see cref="PipelineSigmas"/>; resets the step index.</summary>
    /// <exception cref="ArgumentException">No sigmas, or dynamic shifting without <paramref name="mu"/>.</exception>
    public void SetTimesteps(IReadOnlyList<double> customSigmas, double? mu = null)
    {
        ArgumentNullException.ThrowIfNull(customSigmas);
        if (customSigmas.Count == 0) throw new ArgumentException("at least one sigma is needed", nameof(customSigmas));
        CheckMu(mu);
        var input = customSigmas.Select(s => (float)s).ToArray();
        if (Config.UseDynamicShifting)
        {
            var e = (float)Math.Exp(mu!.Value);
            Apply(input.Select(s => e / (e + (1f / s - 1f))).ToArray());
        }
        else Apply(ShiftStatic(input, Config.Shift));
    }

    /// <summary>Makes the first step start at <paramref name="beginIndex"/> instead of looking the timestep up.</summary>
    public void SetBeginIndex(int beginIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(beginIndex);
        BeginIndex = beginIndex;
    }

    /// <summary>The index of <paramref name="timestep"/> in <see cref="Timesteps"/>; when it occurs more than once, the
    /// second occurrence (diffusers' rule).</summary>
    /// <exception cref="ArgumentException">The timestep is not in the schedule.</exception>
    public int IndexForTimestep(float timestep)
    {
        var matches = Enumerable.Range(0, timesteps.Length).Where(i => timesteps[i] == timestep).Take(2).ToArray();
        if (matches.Length == 0) throw new ArgumentException($"timestep {timestep} is not one of the scheduler's timesteps", nameof(timestep));
        return matches[^1];
    }

    /// <summary>One Euler step of the flow ODE: sample + (σ_next − σ)·model_output, with σ_next − σ in float32 and the
    /// sample upcast to float32; returned in the model output's dtype. Advances <see cref="StepIndex"/>.</summary>
    public Tensor Step(Tensor modelOutput, float timestep, Tensor sample)
    {
        ArgumentNullException.ThrowIfNull(modelOutput);
        ArgumentNullException.ThrowIfNull(sample);
        StepIndex ??= BeginIndex ?? IndexForTimestep(timestep);
        var index = StepIndex.Value;
        if (index < 0 || index >= sigmas.Length - 1)
            throw new InvalidOperationException($"step index {index} is past the schedule's {sigmas.Length - 1} steps; call SetTimesteps again");
        var dt = sigmas[index + 1] - sigmas[index];
        using var scope = torch.NewDisposeScope();
        var prev = (sample.to(ScalarType.Float32).Plus(modelOutput * Sc((double)dt))).to(modelOutput.dtype);
        StepIndex = index + 1;
        return prev.MoveToOuterDisposeScope();
    }

    /// <summary>The official trainer's forward process: (1 − σ)·x0 + σ·noise (float32 scalar arithmetic).</summary>
    public static Tensor AddNoise(Tensor x0, Tensor noise, float sigma)
    {
        ArgumentNullException.ThrowIfNull(x0);
        ArgumentNullException.ThrowIfNull(noise);
        using var scope = torch.NewDisposeScope();
        return ((x0 * Sc((double)(1f - sigma))).Plus(noise * Sc((double)sigma))).MoveToOuterDisposeScope();
    }

    /// <summary>The official trainer's draw (weighting_scheme "none"): u = torch.rand(1) in float32, index = int(u·T),
    /// then the training timestep and σ at that index.</summary>
    /// <param name="generator">A seeded generator, or null for the global one.</param>
    public (float Sigma, float Timestep) SampleTrainingSigma(Generator? generator = null)
    {
        using var u = torch.rand([1], generator: generator);
        return TrainingSigmaAt(u.item<float>());
    }

    /// <summary>σ and timestep of the training schedule for a uniform draw <paramref name="u"/> in [0, 1):
    /// index = int(u·T) with u·T in float32.</summary>
    public (float Sigma, float Timestep) TrainingSigmaAt(float u)
    {
        var index = TrainingIndex(u);
        return (trainSigmas[index], trainTimesteps[index]);
    }

    /// <summary>int(u·T) (float32 product, truncated), clamped to the schedule.</summary>
    public int TrainingIndex(float u) => Math.Clamp((int)(u * (float)Config.NumTrainTimesteps), 0, trainSigmas.Length - 1);

    private void CheckMu(double? mu)
    {
        if (Config.UseDynamicShifting && mu is null)
            throw new ArgumentException("mu is required when use_dynamic_shifting is true", nameof(mu));
    }

    private void Apply(float[] shifted)
    {
        var t = (float)Config.NumTrainTimesteps;
        timesteps = shifted.Select(s => s * t).ToArray();
        sigmas = shifted.Append(0f).ToArray();
        NumInferenceSteps = shifted.Length;
        StepIndex = null;
        BeginIndex = null;
    }

    // shift·σ / (1 + (shift − 1)·σ) on float32 values with the Python-float shift cast to float32, as torch and NumPy do.
    private static float[] ShiftStatic(float[] s, double shift)
    {
        float a = (float)shift, b = (float)(shift - 1);
        return s.Select(x => a * x / (1f + b * x)).ToArray();
    }

    // np.linspace(start, stop, num) in float64: i·step + start, the last value exactly stop.
    private static double[] Linspace(double start, double stop, int num)
    {
        var values = new double[num];
        var step = num > 1 ? (stop - start) / (num - 1) : 0.0;
        for (var i = 0; i < num; i++) values[i] = i * step + start;
        if (num > 1) values[^1] = stop;
        return values;
    }
}
