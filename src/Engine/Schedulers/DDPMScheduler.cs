using TorchSharp;
using static TorchSharp.torch;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Schedulers;

/// <summary>
/// The training side of diffusers' <c>DDPMScheduler</c>: the β / ᾱ schedule, the forward process
/// <c>add_noise</c> and uniform timestep sampling. Numerics follow diffusers (see <see cref="NoiseSchedule"/>).
/// </summary>
public sealed class DDPMScheduler
{
    private readonly float[] betas;
    private readonly float[] alphasCumprod;

    /// <summary>Builds the schedule of <paramref name="config"/>.</summary>
    /// <exception cref="NotSupportedException">An unknown beta schedule, or zero-terminal-SNR rescaling.</exception>
    public DDPMScheduler(SchedulerConfig config)
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
        betas = NoiseSchedule.Betas(config);
        alphasCumprod = NoiseSchedule.AlphasCumprod(betas);
    }

    /// <summary>Loads scheduler_config.json from a file or a scheduler folder.</summary>
    public static DDPMScheduler FromConfig(string path) => new(SchedulerConfig.Load(path));

    /// <summary>The configuration the schedule was built from.</summary>
    public SchedulerConfig Config { get; }

    /// <summary>T: timesteps are 0..T−1.</summary>
    public int NumTrainTimesteps => betas.Length;

    /// <summary>β_t (float32).</summary>
    public IReadOnlyList<float> Betas => betas;

    /// <summary>ᾱ_t = Π (1 − β) (float32).</summary>
    public IReadOnlyList<float> AlphasCumprod => alphasCumprod;

    /// <summary>
    /// x_t = sqrt(ᾱ_t)·x0 + sqrt(1 − ᾱ_t)·noise, with one integer timestep per sample (the first dimension)
    /// broadcast over the others. ᾱ is cast to the samples' dtype and device first, as diffusers does.
    /// </summary>
    /// <param name="originalSamples">x0, [B, ...].</param>
    /// <param name="noise">ε, same shape as x0.</param>
    /// <param name="timesteps">Integer timesteps in [0, T), B values (any integer dtype, any shape with B elements).</param>
    public Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps)
    {
        ArgumentNullException.ThrowIfNull(originalSamples);
        ArgumentNullException.ThrowIfNull(noise);
        ArgumentNullException.ThrowIfNull(timesteps);
        if (timesteps.dtype is not (ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte))
            throw new ArgumentException($"timesteps must be integers, not {timesteps.dtype}", nameof(timesteps));
        var t = timesteps.ToArray<long>();
        foreach (var v in t)
            if (v < 0 || v >= NumTrainTimesteps)
                throw new ArgumentOutOfRangeException(nameof(timesteps), v, $"timesteps must lie in [0, {NumTrainTimesteps})");

        using var scope = torch.NewDisposeScope();
        var device = originalSamples.device;
        var table = torch.tensor(alphasCumprod).to(originalSamples.dtype, device);
        var picked = table.index_select(0, torch.tensor(t).to(device));
        var shape = new long[originalSamples.dim()];
        Array.Fill(shape, 1L);
        shape[0] = -1;
        var sqrtAlpha = picked.sqrt().reshape(shape);
        var sqrtOneMinusAlpha = picked.SubtractedFrom(Sc(1.0)).sqrt().reshape(shape);
        var noisy = (sqrtAlpha * originalSamples).Plus(sqrtOneMinusAlpha * noise);
        return noisy.MoveToOuterDisposeScope();
    }

    /// <summary>Training timesteps drawn uniformly from [0, T), as <c>torch.randint(0, T, (batch,))</c> (int64).</summary>
    /// <param name="batch">How many timesteps.</param>
    /// <param name="generator">A seeded generator, or null for the global one.</param>
    /// <param name="device">Where the result goes (drawn on the CPU either way).</param>
    public Tensor SampleTimesteps(long batch, Generator? generator = null, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        return torch.randint(0, NumTrainTimesteps, [batch], dtype: torch.int64, device: device, generator: generator);
    }
}
