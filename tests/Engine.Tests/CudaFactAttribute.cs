using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests;

/// <summary>A fact that needs a CUDA device: reported as skipped, with the reason, where none is present (never a
/// test that passes without testing).</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!torch.cuda.is_available()) Skip = $"needs a CUDA device; libtorch {TorchRuntime.LibTorchVersion} ({TorchRuntime.Backend} build) here has none";
    }
}
