using static TLoRA.Torch.torch.nn;

namespace TLoRA.Torch.Modules;

/// <summary>torch.nn.LayerNorm over the last dimension.</summary>
public sealed class LayerNorm : Module<Tensor, Tensor>
{
    public readonly Parameter? weight;
    public readonly Parameter? bias;
    public long normalized_shape { get; }
    public double eps { get; }

    public LayerNorm(long normalized_shape, double eps = 1e-5, bool elementwise_affine = true, bool hasBias = true,
        ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        this.normalized_shape = normalized_shape;
        this.eps = eps;
        if (elementwise_affine)
        {
            weight = Init.Constant([normalized_shape], 1, dtype, device);
            if (hasBias) bias = Init.Constant([normalized_shape], 0, dtype, device);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => functional.layer_norm(input, [normalized_shape], weight, bias, eps);
}
