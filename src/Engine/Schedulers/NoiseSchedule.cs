
namespace TLoRA.Engine.Schedulers;

/// <summary>
/// The training noise schedule shared by the schedulers, computed with diffusers' exact float32 numerics: βs from
/// the reference stack's float32 linspace (<see cref="TorchLinspace"/>; squared in float32 for "scaled_linear"), α = 1 − β in float32, and ᾱ = cumprod(α) with a
/// float64 accumulator rounded to float32 at every step, which is what <c>torch.cumprod</c> does on the CPU.
/// </summary>
internal static class NoiseSchedule
{
    /// <summary>The βs of <paramref name="config"/> (length T, float32).</summary>
    public static float[] Betas(SchedulerConfig config)
    {
        var t = config.NumTrainTimesteps;
        if (t < 1) throw new ArgumentException($"num_train_timesteps must be at least 1, not {t}", nameof(config));
        if (config.RescaleBetasZeroSnr) throw new NotSupportedException("rescale_betas_zero_snr = true is not supported");
        if (config.TrainedBetas is { } trained)
        {
            if (trained.Length != t)
                throw new ArgumentException($"trained_betas has {trained.Length} values, num_train_timesteps is {t}", nameof(config));
            return trained.Select(b => (float)b).ToArray();
        }
        switch (config.BetaSchedule)
        {
            case "linear":
                return Linspace(config.BetaStart, config.BetaEnd, t);
            case "scaled_linear":
                var roots = Linspace(Math.Sqrt(config.BetaStart), Math.Sqrt(config.BetaEnd), t);
                for (var i = 0; i < roots.Length; i++) roots[i] *= roots[i];
                return roots;
            case "squaredcos_cap_v2":
                return CosineBetas(t);
            default:
                throw new NotSupportedException(
                    $"beta_schedule '{config.BetaSchedule}' is not supported (linear, scaled_linear, squaredcos_cap_v2)");
        }
    }

    /// <summary>ᾱ_t = Π_{s≤t} (1 − β_s), float32 values of a float64 running product.</summary>
    public static float[] AlphasCumprod(float[] betas)
    {
        var result = new float[betas.Length];
        var product = 1.0;
        for (var i = 0; i < betas.Length; i++)
        {
            product *= 1f - betas[i];
            result[i] = (float)product;
        }
        return result;
    }

    /// <summary>σ_t = sqrt((1 − ᾱ_t) / ᾱ_t), each operation in float32 as diffusers' tensor expression.</summary>
    public static float Sigma(float alphaCumprod) => MathF.Sqrt((1f - alphaCumprod) / alphaCumprod);

    private static float[] Linspace(double start, double end, int steps) => TorchLinspace.Float32(start, end, steps);

    // diffusers' betas_for_alpha_bar with the cosine transform (max β 0.999), in float64, then cast to float32.
    private static float[] CosineBetas(int t)
    {
        static double AlphaBar(double x) => Math.Pow(Math.Cos((x + 0.008) / 1.008 * Math.PI / 2), 2);
        var betas = new float[t];
        for (var i = 0; i < t; i++)
            betas[i] = (float)Math.Min(1 - AlphaBar((double)(i + 1) / t) / AlphaBar((double)i / t), 0.999);
        return betas;
    }
}
