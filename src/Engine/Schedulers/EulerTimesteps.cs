using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Schedulers;

/// <summary>
/// The NumPy arithmetic behind <see cref="EulerDiscreteScheduler.SetTimesteps"/>, reproduced step for step:
/// np.linspace (float64, cast to float32), integer "leading" steps, np.arange with a float step for "trailing"
/// (length ceil(−T/−r), element i = T + i·((T − r) − T)), round-half-to-even, and np.interp.
/// </summary>
internal static class EulerTimesteps
{
    /// <summary>Descending float32 timesteps for <paramref name="spacing"/>.</summary>
    public static float[] Spaced(string spacing, int steps, int trainSteps, int stepsOffset)
    {
        switch (spacing)
        {
            case "linspace":
            {
                // np.linspace(0, T - 1, n, dtype=float32)[::-1]: i·((T−1)/(n−1)) in float64, the last one exactly T−1.
                var values = new float[steps];
                var step = steps > 1 ? (trainSteps - 1.0) / (steps - 1) : 0.0;
                for (var i = 0; i < steps; i++) values[i] = (float)(i * step);
                if (steps > 1) values[^1] = trainSteps - 1;
                Array.Reverse(values);
                return values;
            }
            case "leading":
            {
                // (np.arange(0, n) * (T // n)).round()[::-1].astype(float32) + steps_offset
                var ratio = trainSteps / steps;
                var values = new float[steps];
                for (var i = 0; i < steps; i++) values[i] = (float)((long)(steps - 1 - i) * ratio) + stepsOffset;
                return values;
            }
            case "trailing":
            {
                // np.arange(T, 0, -(T / n)).round().astype(float32) - 1
                var ratio = (double)trainSteps / steps;
                var length = (int)Math.Ceiling((0.0 - trainSteps) / -ratio);
                var delta = (trainSteps - ratio) - trainSteps;
                var values = new float[length];
                for (var i = 0; i < length; i++)
                {
                    var v = i == 0 ? trainSteps : i == 1 ? trainSteps - ratio : trainSteps + i * delta;
                    values[i] = (float)Math.Round(v, MidpointRounding.ToEven) - 1f;
                }
                return values;
            }
            default:
                throw new NotSupportedException($"timestep_spacing '{spacing}' is not supported (linspace, leading, trailing)");
        }
    }

    /// <summary>np.interp(x, arange(len(fp)), fp) in float64: fp[0] left of the range, fp[^1] right of it,
    /// fp[j] on a knot, slope·(x − j) + fp[j] between knots.</summary>
    public static double Interp(double x, float[] fp)
    {
        if (double.IsNaN(x)) return x;
        if (x <= 0) return fp[0];
        if (x >= fp.Length - 1) return fp[^1];
        var j = (int)Math.Floor(x);
        if (j == x) return fp[j];
        var slope = ((double)fp[j + 1] - fp[j]) / 1.0;
        return slope * (x - j) + fp[j];
    }

    /// <summary>"log_linear": exp(torch.linspace(log σ_last, log σ_first, n + 1)) in float32 (n + 1 values, as diffusers).</summary>
    public static float[] LogLinear(float[] trainSigmas, int steps)
    {
        using var line = torch.linspace(MathF.Log(trainSigmas[^1]), MathF.Log(trainSigmas[0]), steps + 1, torch.float32);
        using var exp = line.exp();
        return exp.ToArray<float>();
    }
}
