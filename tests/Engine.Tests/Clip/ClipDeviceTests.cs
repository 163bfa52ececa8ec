using TLoRA.Engine.Clip;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Clip;

/// <summary>Loading in another dtype or onto the GPU (the GPU case is skipped on a machine without CUDA).</summary>
public sealed class ClipDeviceTests
{
    [Fact]
    public void Loading_in_bfloat16_gives_bfloat16_outputs_close_to_the_reference()
    {
        using var encoder = SdxlPromptEncoder.Load(FixturePaths.SdxlTiny, ScalarType.BFloat16);
        using var scope = torch.NewDisposeScope();
        using var embeds = encoder.Encode(ClipFixture.Prompt);
        Assert.Equal(ScalarType.BFloat16, embeds.prompt_embeds.dtype);
        Assert.Equal(ScalarType.BFloat16, embeds.pooled_prompt_embeds.dtype);
        Assert.Equal(ScalarType.BFloat16, embeds.negative_prompt_embeds!.dtype);
        Parity.AssertClose(ClipFixture.Reference("text.prompt_embeds"), embeds.prompt_embeds, rel: 5e-2, abs: 0, name: "prompt_embeds (bf16)");
        Parity.AssertClose(ClipFixture.Reference("text.pooled"), embeds.pooled_prompt_embeds, rel: 5e-2, abs: 0, name: "pooled (bf16)");
    }

    [CudaFact]
    public void On_cuda_the_outputs_match_the_reference()
    {
        using var encoder = SdxlPromptEncoder.Load(FixturePaths.SdxlTiny, ScalarType.Float32, torch.CUDA);
        using var scope = torch.NewDisposeScope();
        using var embeds = encoder.Encode(ClipFixture.Prompt);
        Assert.Equal(DeviceType.CUDA, embeds.prompt_embeds.device_type);
        Parity.AssertClose(ClipFixture.Reference("text.prompt_embeds"), embeds.prompt_embeds, name: "text.prompt_embeds (cuda)");
        Parity.AssertClose(ClipFixture.Reference("text.pooled"), embeds.pooled_prompt_embeds, name: "text.pooled (cuda)");
        using var te1 = encoder.text_encoder.call(ClipFixture.Reference("text.ids")); // CPU ids are moved to the weights
        Parity.AssertClose(ClipFixture.Reference("text.te1_penultimate"), te1.hidden_states[^2], name: "text.te1_penultimate (cuda)");
    }
}
