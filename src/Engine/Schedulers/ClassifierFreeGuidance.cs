using TorchSharp;
using static TorchSharp.torch;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Schedulers;

/// <summary>Classifier-free guidance as the diffusers pipelines apply it to a batched [uncond; cond] prediction.</summary>
public static class ClassifierFreeGuidance
{
    /// <summary>uncond + scale·(cond − uncond).</summary>
    public static Tensor Combine(Tensor uncond, Tensor cond, double scale)
    {
        ArgumentNullException.ThrowIfNull(uncond);
        ArgumentNullException.ThrowIfNull(cond);
        using var difference = cond - uncond;
        using var scaled = difference * Sc(scale);
        return uncond.Plus(scaled);
    }

    /// <summary>Splits a prediction for the doubled batch [uncond; cond] (first dimension) and combines the halves.</summary>
    public static Tensor Combine(Tensor batched, double scale)
    {
        ArgumentNullException.ThrowIfNull(batched);
        if (batched.dim() == 0 || batched.size(0) % 2 != 0)
            throw new ArgumentException($"expected an even first dimension [uncond; cond], got {batched}", nameof(batched));
        var halves = batched.chunk(2, 0);
        try
        {
            return Combine(halves[0], halves[1], scale);
        }
        finally
        {
            foreach (var h in halves) h.Dispose();
        }
    }
}
