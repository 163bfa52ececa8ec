using TLoRA.Engine.Flux;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;
using R = TLoRA.Engine.Tests.FluxReferenceOutputs;

namespace TLoRA.Engine.Tests.Flux;

/// <summary>The FLUX transformer in bfloat16 (how FLUX.1-dev is run) and on the GPU (skipped without CUDA).</summary>
public sealed class FluxTransformerDeviceTests(ITestOutputHelper output)
{
    private static Tensor Run(FluxTransformer2DModel model, ScalarType dtype, Device device) => model.forward(
        R.Read("transformer.hidden_states").to(dtype, device), R.Read("transformer.encoder_hidden_states").to(dtype, device),
        R.Read("transformer.pooled_projections").to(dtype, device), R.Read("transformer.timestep_1"), R.Read("transformer.img_ids"),
        R.Read("transformer.txt_ids"), R.Read("transformer.guidance")); // timestep, guidance and ids stay on the CPU in float32

    [Fact]
    public void Loading_in_bfloat16_gives_bfloat16_outputs_close_to_the_reference()
    {
        using var model = FluxTransformer2DModel.Load(FluxTransformerFixture.Folder, ScalarType.BFloat16);
        using var scope = torch.NewDisposeScope();
        var actual = Run(model, ScalarType.BFloat16, torch.CPU);
        Assert.Equal(ScalarType.BFloat16, actual.dtype);
        output.WriteLine(Parity.AssertClose(R.Read("transformer.out_1"), actual, "transformer.out_1 (bf16)", rel: 5e-2, abs: 0).ToString());
    }

    [CudaFact]
    public void On_cuda_the_output_matches_the_reference()
    {
        using var model = FluxTransformer2DModel.Load(FluxTransformerFixture.Folder, ScalarType.Float32, torch.CUDA);
        using var scope = torch.NewDisposeScope();
        var actual = Run(model, ScalarType.Float32, torch.CUDA);
        Assert.Equal(DeviceType.CUDA, actual.device_type);
        output.WriteLine(Parity.AssertClose(R.Read("transformer.out_1"), actual, "transformer.out_1 (cuda)").ToString());
    }
}
