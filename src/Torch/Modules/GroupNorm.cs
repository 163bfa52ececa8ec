using static TLoRA.Torch.torch.nn;

namespace TLoRA.Torch.Modules;

/// <summary>torch.nn.GroupNorm over NC... input, with per-channel affine parameters.</summary>
public sealed class GroupNorm : Module<Tensor, Tensor>
{
    public readonly Parameter? weight;
    public readonly Parameter? bias;
    public long num_groups { get; }
    public double eps { get; }

    public GroupNorm(long num_groups, long num_channels, double eps = 1e-5, bool affine = true,
        ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        if (num_channels % num_groups != 0)
            throw new ArgumentException($"{num_channels} channels are not divisible into {num_groups} groups");
        this.num_groups = num_groups;
        this.eps = eps;
        if (affine)
        {
            weight = Init.Constant([num_channels], 1, dtype, device);
            bias = Init.Constant([num_channels], 0, dtype, device);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => functional.group_norm(input, num_groups, weight, bias, eps);
}
