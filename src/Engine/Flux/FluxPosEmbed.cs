using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Flux;

/// <summary>
/// diffusers' <c>FluxPosEmbed</c>: rotary embeddings from (S, n_axes) position ids, one band of <c>axes_dim[i]</c> channels
/// per axis (<c>get_1d_rotary_pos_embed</c> with use_real and repeat_interleave_real): frequencies
/// 1 / theta^(2j / dim) and angles pos · freq in float64 as diffusers computes them, cos and sin repeated pairwise,
/// cast to float32 and concatenated over the axes. Also <see cref="apply_rotary_emb"/>, which rotates queries and keys.
/// </summary>
public sealed class FluxPosEmbed : Module
{
    /// <param name="theta">Base of the frequencies (FLUX: 10000).</param>
    /// <param name="axes_dim">Channels per axis (even; they sum to the head dim).</param>
    public FluxPosEmbed(double theta, IReadOnlyList<int> axes_dim) : base(nameof(FluxPosEmbed))
    {
        if (axes_dim.Any(d => d <= 0 || d % 2 != 0)) throw new ArgumentException($"axes_dim [{string.Join(", ", axes_dim)}] must be positive and even");
        this.theta = theta;
        this.axes_dim = axes_dim.ToArray();
        RegisterComponents();
    }

    /// <summary>Base of the frequencies.</summary>
    public double theta { get; }
    /// <summary>Channels per position axis.</summary>
    public IReadOnlyList<int> axes_dim { get; }

    /// <summary>The (cos, sin) tables, each (S, sum of axes_dim) float32 on the ids' device, for <paramref name="ids"/>
    /// (S, n_axes) of any numeric dtype.</summary>
    public (Tensor cos, Tensor sin) forward(Tensor ids)
    {
        if (ids.dim() != 2 || ids.size(1) != axes_dim.Count)
            throw new ArgumentException($"ids must have shape [S, {axes_dim.Count}], got [{string.Join(", ", ids.shape)}]");
        using var scope = torch.NewDisposeScope();
        // diffusers: pos = ids.float(); freqs in float64 (float32 only on MPS); torch.outer promotes pos to float64.
        var pos = ids.to(ScalarType.Float32).to(ScalarType.Float64);
        var cos = new List<Tensor>();
        var sin = new List<Tensor>();
        for (var i = 0; i < axes_dim.Count; i++)
        {
            var dim = axes_dim[i];
            var exponent = torch.arange(Sc(0L), Sc(dim), Sc(2L), ScalarType.Float64, ids.device) / Sc((double)dim);
            var freqs = Sc(1.0) / torch.full([], Sc(theta), ScalarType.Float64, ids.device).pow(exponent);
            var angles = pos.select(1, i).unsqueeze(1) * freqs.unsqueeze(0); // (S, dim / 2)
            cos.Add(angles.cos().repeat_interleave(2, 1).to(ScalarType.Float32));
            sin.Add(angles.sin().repeat_interleave(2, 1).to(ScalarType.Float32));
        }
        return (torch.cat(cos, -1).MoveToOuterDisposeScope(), torch.cat(sin, -1).MoveToOuterDisposeScope());
    }

    /// <summary>diffusers' <c>apply_rotary_emb</c> (use_real, unbind dim −1) on <paramref name="x"/> (B, H, S, D): each
    /// channel pair (a, b) becomes (a·cos − b·sin, b·cos + a·sin), computed in float32 and cast back to x's dtype.</summary>
    public static Tensor apply_rotary_emb(Tensor x, (Tensor cos, Tensor sin) freqs_cis)
    {
        using var scope = torch.NewDisposeScope();
        var shape = x.shape;
        var pairs = x.reshape([.. shape[..^1], shape[^1] / 2, 2]);
        var real = pairs.select(-1, 0);
        var imag = pairs.select(-1, 1);
        var rotated = torch.stack([-imag, real], -1).flatten(3);
        var cos = freqs_cis.cos.unsqueeze(0).unsqueeze(0).to(x.device);
        var sin = freqs_cis.sin.unsqueeze(0).unsqueeze(0).to(x.device);
        var output = (x.to(ScalarType.Float32) * cos).Plus(rotated.to(ScalarType.Float32) * sin);
        return output.to(x.dtype).MoveToOuterDisposeScope();
    }
}
