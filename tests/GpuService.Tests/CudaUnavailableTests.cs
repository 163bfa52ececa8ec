using TLoRA.Engine;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Service;
using TorchSharp;

namespace TLoRA.GpuService.Tests;

/// <summary>Asking for CUDA where there is none stops at start with a message that says what to change: on this
/// project's CPU build, the build property that picks the CUDA backend.</summary>
public class CudaUnavailableTests
{
    [CpuBackendFact]
    public void Train_with_device_cuda_fails_before_loading_and_names_the_build_property()
    {
        using var dir = new TempDir();
        var (code, output) = DescribeCommandTests.Run("train", "--model", FixturePaths.SdxlTiny, "--image", "/no/such.png", "--device", "cuda",
            "--output", dir.Path);
        Assert.Equal(1, code);
        var text = output.ReplaceLineEndings("");
        Assert.Contains("--device cuda", text);
        Assert.Contains($"-p:{TorchRuntime.BackendProperty}=cuda", text);
        Assert.DoesNotContain("/no/such.png", text); // refused before the image (or the model) is touched
    }

    [CpuBackendFact]
    public void The_service_refuses_a_cuda_device_in_its_configuration_naming_the_build_property()
    {
        var o = new GpuServiceOptions { ModelsDirectory = FixturePaths.Root, Device = "cuda:0" };
        var ex = Assert.Throws<ArgumentException>(o.Validate);
        Assert.Contains("GpuService:Device", ex.Message);
        Assert.Contains($"-p:{TorchRuntime.BackendProperty}=cuda", ex.Message);
    }
}

/// <summary>A fact about the CPU build: skipped, with the reason, in a build with the CUDA backend.</summary>
public sealed class CpuBackendFactAttribute : FactAttribute
{
    public CpuBackendFactAttribute()
    {
        if (TorchRuntime.Backend != "cpu") Skip = $"this build has the {TorchRuntime.Backend} backend (libtorch {torch.__version__})";
    }
}
