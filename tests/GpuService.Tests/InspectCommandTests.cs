using System.Text.Json;
using TLoRA.Engine.Tests;

namespace TLoRA.GpuService.Tests;

public class InspectCommandTests
{
    private static string Fixture(string name) => Path.Combine(FixturePaths.SdxlTiny, name);

    [Fact]
    public void Reports_method_rank_and_effective_rank_per_block()
    {
        var (code, output) = DescribeCommandTests.Run("inspect", Fixture("reference_tlora_adapter.safetensors"), "--layers");
        Assert.Equal(0, code);
        Assert.Contains("TLoRA, rank 4", output);
        Assert.Contains("176 adapted projections", output);
        Assert.Contains("down_blocks.1", output);
        Assert.Contains("mean effective rank 0.00", output); // an untrained T-LoRA has a zero delta
        Assert.Contains("down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q", output);
    }

    [Fact]
    public void Json_output_parses_and_holds_every_layer()
    {
        var (code, output) = DescribeCommandTests.Run("inspect", Fixture("reference_vanilla_tlora_adapter.safetensors"), "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(176, doc.RootElement.GetProperty("layers").GetArrayLength());
        Assert.Equal(4.0, doc.RootElement.GetProperty("summary").GetProperty("MeanEffectiveRank").GetDouble());
    }

    [Fact]
    public void A_file_that_is_no_adapter_is_one_clear_line()
    {
        var (code, output) = DescribeCommandTests.Run("inspect", Path.Combine(FixturePaths.SdxlTiny, "vae", "diffusion_pytorch_model.safetensors"));
        Assert.Equal(1, code);
        Assert.Contains("not a T-LoRA adapter", output);
        (code, output) = DescribeCommandTests.Run("inspect", "/no/adapter.safetensors");
        Assert.Equal(1, code);
        Assert.Contains("adapter file '/no/adapter.safetensors' does not exist", output);
    }
}
