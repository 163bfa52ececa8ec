using TorchSharp;
using static TorchSharp.torch;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Common;

/// <summary>Layer factories where TorchSharp's own need a fix.</summary>
public static class Layers
{
    /// <summary>torch.nn.GroupNorm with PyTorch's initialisation (weight 1, bias 0): TorchSharp 0.107's leaves the affine
    /// parameters uninitialised (torch.empty).</summary>
    public static TorchSharp.Modules.GroupNorm GroupNorm(long num_groups, long num_channels, double eps = 1e-5,
        bool affine = true, Device? device = null, ScalarType? dtype = null)
    {
        var norm = nn.GroupNorm(num_groups, num_channels, eps, affine, device, dtype);
        if (norm.weight is null || norm.weight.device_type == DeviceType.META) return norm;
        using (torch.no_grad())
        {
            norm.weight.fill_(Scalars.Sc(1.0));
            norm.bias?.zero_();
        }
        return norm;
    }
}
