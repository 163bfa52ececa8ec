using TorchSharp;
using static TorchSharp.torch;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Vae;

/// <summary>
/// diffusers' <c>DiagonalGaussianDistribution</c>: the VAE posterior N(mean, exp(logvar)) from the encoder's moments
/// (B, 2·latent, h, w), split in halves on the channel axis; logvar is clamped to [−30, 20] as diffusers does.
/// Owns its tensors (they also belong to the dispose scope that was current when it was made).
/// </summary>
public sealed class DiagonalGaussianDistribution : IDisposable
{
    /// <summary>Splits <paramref name="parameters"/> into mean and log-variance.</summary>
    public DiagonalGaussianDistribution(Tensor parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var halves = parameters.chunk(2, 1);
        mean = halves[0];
        logvar = halves[1].clamp(Sc(-30.0), Sc(20.0));
        halves[1].Dispose();
        std = (logvar * Sc(0.5)).exp();
        var = logvar.exp();
    }

    /// <summary>The posterior mean (B, latent, h, w).</summary>
    public Tensor mean { get; }
    /// <summary>The clamped log-variance.</summary>
    public Tensor logvar { get; }
    /// <summary>exp(logvar / 2).</summary>
    public Tensor std { get; }
    /// <summary>exp(logvar).</summary>
    public Tensor var { get; }

    /// <summary>A draw mean + std · ε with ε ~ N(0, 1) from <paramref name="generator"/> (a fresh tensor).</summary>
    public Tensor sample(Generator? generator = null)
    {
        using var scope = torch.NewDisposeScope();
        var noise = torch.randn(mean.shape, dtype: mean.dtype, device: mean.device, generator: generator);
        return (mean.Plus(std * noise)).MoveToOuterDisposeScope();
    }

    /// <summary>The mode, which is the mean (a fresh alias of it).</summary>
    public Tensor mode() => mean.alias();

    public void Dispose()
    {
        mean.Dispose();
        logvar.Dispose();
        std.Dispose();
        var.Dispose();
    }
}
