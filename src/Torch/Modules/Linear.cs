using static TLoRA.Torch.torch.nn;

namespace TLoRA.Torch.Modules;

/// <summary>y = x·Wᵀ + b, as torch.nn.Linear (weight: out × in).</summary>
public sealed class Linear : Module<Tensor, Tensor>
{
    public readonly Parameter weight;
    public readonly Parameter? bias;

    public Linear(long in_features, long out_features, bool hasBias = true, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        weight = Init.Uniform([out_features, in_features], in_features, dtype, device);
        if (hasBias) bias = Init.Uniform([out_features], in_features, dtype, device);
        RegisterComponents();
    }

    public long in_features => weight.size(1);
    public long out_features => weight.size(0);

    public override Tensor forward(Tensor input) => functional.linear(input, weight, bias);
}
