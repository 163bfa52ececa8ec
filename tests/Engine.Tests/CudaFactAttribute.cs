using TLoRA.Torch;

namespace TLoRA.Engine.Tests;

/// <summary>A fact that needs a CUDA device: reported as skipped, with the reason, where none is present (never a
/// test that passes without testing).</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!torch.cuda.is_available()) Skip = $"needs a CUDA device; libtorch {torch.libtorch_version} here has none";
    }
}
