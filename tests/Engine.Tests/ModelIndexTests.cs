using TLoRA.Engine.IO;

namespace TLoRA.Engine.Tests;

public class ModelIndexTests
{
    [Fact]
    public void Reads_the_sdxl_fixture_components_and_settings()
    {
        var index = ModelIndex.Load(FixturePaths.SdxlTiny);
        Assert.Equal("StableDiffusionXLPipeline", index.ClassName);
        Assert.Equal(7, index.Components.Count);
        Assert.Equal(new PipelineComponent("text_encoder_2", "transformers", "CLIPTextModelWithProjection"), index["text_encoder_2"]);
        Assert.Equal("EulerDiscreteScheduler", index["scheduler"].ClassName);
        Assert.True(index.Settings["force_zeros_for_empty_prompt"].GetBoolean());
        var ex = Assert.Throws<KeyNotFoundException>(() => index["transformer"]);
        Assert.Contains("has no component 'transformer'", ex.Message);
    }

    [Fact]
    public void Absent_optional_components_are_skipped_and_bad_json_is_named()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("model_index.json"), """{"_class_name": "X", "image_encoder": [null, null], "feature_extractor": [null, null]}""");
        Assert.Empty(ModelIndex.Load(dir.Path).Components);
        File.WriteAllText(dir.File("model_index.json"), "{ not json");
        var ex = Assert.Throws<InvalidDataException>(() => ModelIndex.Load(dir.Path));
        Assert.Contains("model_index.json: not valid JSON", ex.Message);
        File.WriteAllText(dir.File("model_index.json"), """{"unet": ["diffusers", "UNet2DConditionModel"]}""");
        Assert.Contains("no _class_name", Assert.Throws<InvalidDataException>(() => ModelIndex.Load(dir.Path)).Message);
    }
}
