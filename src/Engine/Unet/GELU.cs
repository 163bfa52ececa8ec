using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Unet;

/// <summary>diffusers' <c>GELU</c> activation module: <c>proj</c> then gelu (exact or tanh-approximate), as the first
/// layer of a "gelu" / "gelu-approximate" <see cref="FeedForward"/> (FLUX's ff.net.0.proj).</summary>
public sealed class GELU : Module<Tensor, Tensor>
{
    public readonly Linear proj;

    /// <param name="dim_in">Input width.</param>
    /// <param name="dim_out">Output width.</param>
    /// <param name="approximate">GELU variant: "none" (exact) or "tanh".</param>
    /// <param name="bias">Whether proj has a bias.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public GELU(long dim_in, long dim_out, string approximate = "none", bool bias = true, ScalarType dtype = ScalarType.Float32,
        Device? device = null) : base(nameof(GELU))
    {
        this.approximate = approximate is "none" or "tanh" ? approximate : throw new ArgumentException($"approximate must be 'none' or 'tanh', not '{approximate}'");
        proj = Linear(dim_in, dim_out, bias, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>The GELU variant.</summary>
    public string approximate { get; }

    /// <summary>Applies proj and the GELU to <paramref name="hidden_states"/> (..., dim_in).</summary>
    public override Tensor forward(Tensor hidden_states)
    {
        using var scope = torch.NewDisposeScope();
        return Common.Activations.Gelu(proj.call(hidden_states), approximate).MoveToOuterDisposeScope();
    }
}
