using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Unet;

/// <summary>
/// diffusers' <c>Timesteps</c>: the parameterless sinusoidal embedding <c>get_timestep_embedding</c> of a 1-D tensor of
/// (possibly fractional) timesteps, always float32: frequencies exp(−ln(max_period) · i / (half − shift)) for
/// i &lt; half = dim / 2, [sin, cos] of t · freq ([cos, sin] with flip_sin_to_cos), zero-padded when dim is odd.
/// </summary>
public sealed class Timesteps : Module<Tensor, Tensor>
{
    /// <param name="num_channels">Embedding width.</param>
    /// <param name="flip_sin_to_cos">Put the cosines first (SD and SD-XL: true).</param>
    /// <param name="downscale_freq_shift">The shift in the frequency denominator (SD and SD-XL: 0).</param>
    /// <param name="scale">Multiplies the arguments.</param>
    /// <param name="max_period">The lowest frequency's period.</param>
    public Timesteps(long num_channels, bool flip_sin_to_cos, double downscale_freq_shift, double scale = 1, double max_period = 10000) : base(nameof(Timesteps))
    {
        this.num_channels = num_channels;
        this.flip_sin_to_cos = flip_sin_to_cos;
        this.downscale_freq_shift = downscale_freq_shift;
        this.scale = scale;
        this.max_period = max_period;
        RegisterComponents();
    }

    public long num_channels { get; }
    public bool flip_sin_to_cos { get; }
    public double downscale_freq_shift { get; }
    public double scale { get; }
    public double max_period { get; }

    /// <summary>Embeds <paramref name="timesteps"/> (N), any numeric dtype, into an (N, num_channels) float32 tensor.</summary>
    public override Tensor forward(Tensor timesteps) =>
        get_timestep_embedding(timesteps, num_channels, flip_sin_to_cos, downscale_freq_shift, scale, max_period);

    /// <summary>diffusers' <c>get_timestep_embedding</c>, operation for operation (float32 throughout).</summary>
    public static Tensor get_timestep_embedding(Tensor timesteps, long embedding_dim, bool flip_sin_to_cos = false,
        double downscale_freq_shift = 1, double scale = 1, double max_period = 10000)
    {
        if (timesteps.dim() != 1) throw new ArgumentException($"timesteps should be a 1-D tensor, got shape [{string.Join(", ", timesteps.shape)}]");
        using var s = torch.NewDisposeScope();
        var half = embedding_dim / 2;
        var exponent = torch.arange(Sc(0L), Sc(half), Sc(1L), ScalarType.Float32, timesteps.device) * Sc(-Math.Log(max_period));
        exponent = exponent / Sc(half - downscale_freq_shift);
        var emb = timesteps.unsqueeze(1).to(ScalarType.Float32) * exponent.exp().unsqueeze(0);
        if (scale != 1) emb = emb * Sc(scale);
        // diffusers builds [sin, cos] and swaps the halves when flipping: the same values as building [cos, sin].
        emb = flip_sin_to_cos ? torch.cat([emb.cos(), emb.sin()], -1) : torch.cat([emb.sin(), emb.cos()], -1);
        if (embedding_dim % 2 == 1) emb = functional.pad(emb, [0, 1, 0, 0]);
        return emb.MoveToOuterDisposeScope();
    }
}
