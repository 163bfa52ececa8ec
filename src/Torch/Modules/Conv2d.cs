using static TLoRA.Torch.torch.nn;

namespace TLoRA.Torch.Modules;

/// <summary>2-D convolution with a square kernel, as torch.nn.Conv2d (weight: out × in/groups × k × k).</summary>
public sealed class Conv2d : Module<Tensor, Tensor>
{
    public readonly Parameter weight;
    public readonly Parameter? bias;
    public long stride { get; }
    public long padding { get; }
    public long groups { get; }

    public Conv2d(long in_channels, long out_channels, long kernel_size, long stride = 1, long padding = 0, long groups = 1,
        bool hasBias = true, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        if (in_channels % groups != 0 || out_channels % groups != 0)
            throw new ArgumentException($"channels {in_channels}→{out_channels} are not divisible by groups={groups}");
        this.stride = stride;
        this.padding = padding;
        this.groups = groups;
        var fanIn = in_channels / groups * kernel_size * kernel_size;
        weight = Init.Uniform([out_channels, in_channels / groups, kernel_size, kernel_size], fanIn, dtype, device);
        if (hasBias) bias = Init.Uniform([out_channels], fanIn, dtype, device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => functional.conv2d(input, weight, bias, stride, padding, 1, groups);
}
