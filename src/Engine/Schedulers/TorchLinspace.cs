namespace TLoRA.Engine.Schedulers;

/// <summary>
/// <c>torch.linspace(start, end, steps, dtype=torch.float32)</c> on the CPU exactly as the reference stack computed it
/// (PyTorch's range-factories kernel, AVX2 build: the diffusers fixtures and Debian's python3-torch), in C# instead
/// of calling libtorch, whose newer versions (2.10 here) and other CPU builds round some values differently (σ at
/// t = 751 moved by 2 ulps with libtorch 2.10's linspace). The kernel: start and end rounded to float32; step =
/// (end − start)/(steps − 1) in float32; the first half counts up from start, the second half down from end; blocks
/// of <see cref="Lanes"/> values, taken two at a time, start at a base fma(step, idx, start) (or
/// fma(−step, steps − 1 − idx, end)) and add step·k; the tail that does not fill two blocks takes the base formula per
/// element.
/// Checked bit for bit against python3-torch on the fixtures' β range (tests/Engine.Tests/Schedulers).
/// </summary>
internal static class TorchLinspace
{
    /// <summary>Values per vector in the reference build's AVX2 kernel (8 floats).</summary>
    public const int Lanes = 8;

    public static float[] Float32(double start, double end, int steps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        var values = new float[steps];
        if (steps == 0) return values;
        float s = (float)start, e = (float)end;
        if (steps == 1)
        {
            values[0] = s;
            return values;
        }
        var step = (e - s) / (steps - 1);
        var half = steps / 2;
        float Base(long i) => i < half
            ? MathF.FusedMultiplyAdd(step, i, s)
            : MathF.FusedMultiplyAdd(-step, steps - i - 1, e);
        var idx = 0;
        for (; idx <= steps - 2 * Lanes; idx += Lanes)
        {
            var b = Base(idx);
            for (var k = 0; k < Lanes; k++) values[idx + k] = MathF.FusedMultiplyAdd(step, k, b);
            idx += Lanes;
            b = Base(idx);
            for (var k = 0; k < Lanes; k++) values[idx + k] = MathF.FusedMultiplyAdd(step, k, b);
        }
        for (; idx < steps; idx++) values[idx] = Base(idx);
        return values;
    }
}
