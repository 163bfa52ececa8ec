using TLoRA.WebUI.State;

namespace TLoRA.WebUI.Tests.State;

public sealed class SampleFormTests
{
    [Fact]
    public void Maps_prompts_and_leaves_the_adapter_scale_to_the_service_without_an_adapter()
    {
        var f = new SampleForm { ModelId = "sdxl-tiny", Prompts = " a photo of sks robot \n\n a sks robot in the snow", Seed = 3 };
        Assert.Empty(f.Validate());
        var r = f.ToRequest();
        Assert.Equal(["a photo of sks robot", "a sks robot in the snow"], r.Prompts);
        Assert.Equal(("", 0.0, 25, 5.0, 3UL), (r.AdapterId, r.AdapterScale, r.Steps, r.GuidanceScale, r.Seed));
        f.AdapterId = "a1";
        f.AdapterScale = 0.8;
        Assert.Equal(0.8, f.ToRequest().AdapterScale);
    }

    [Fact]
    public void Names_each_bad_field()
    {
        var f = new SampleForm { Prompts = "\n", Steps = 0, GuidanceScale = 0.5, ImagesPerPrompt = 17, AdapterScale = -1 };
        var e = f.Validate();
        Assert.Equal(["adapterScale", "guidanceScale", "imagesPerPrompt", "modelId", "prompts", "steps"], e.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("write at least one prompt", e["prompts"]);
    }
}
