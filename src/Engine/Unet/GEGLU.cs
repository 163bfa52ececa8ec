using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Unet;

/// <summary>diffusers' <c>GEGLU</c>: <c>proj</c> to twice the width, split in halves (h, gate), h · gelu(gate).</summary>
public sealed class GEGLU : Module<Tensor, Tensor>
{
    public readonly Linear proj;

    /// <param name="dim_in">Input width.</param>
    /// <param name="dim_out">Output width (proj has 2 · dim_out outputs).</param>
    /// <param name="approximate">GELU variant: "none" (exact, SD-XL) or "tanh".</param>
    /// <param name="bias">Whether proj has a bias.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public GEGLU(long dim_in, long dim_out, string approximate = "none", bool bias = true, ScalarType dtype = ScalarType.Float32,
        Device? device = null) : base(nameof(GEGLU))
    {
        this.approximate = approximate is "none" or "tanh" ? approximate : throw new ArgumentException($"approximate must be 'none' or 'tanh', not '{approximate}'");
        proj = Linear(dim_in, dim_out * 2, bias, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>The GELU variant.</summary>
    public string approximate { get; }

    /// <summary>Applies the gated GELU to <paramref name="hidden_states"/> (..., dim_in).</summary>
    public override Tensor forward(Tensor hidden_states)
    {
        using var scope = torch.NewDisposeScope();
        var parts = proj.call(hidden_states).chunk(2, -1);
        return (parts[0] * Common.Activations.Gelu(parts[1], approximate)).MoveToOuterDisposeScope();
    }
}
