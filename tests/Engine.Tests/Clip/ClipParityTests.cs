using TLoRA.Engine.Clip;
using TLoRA.Engine.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace TLoRA.Engine.Tests.Clip;

/// <summary>The CLIP text encoders and SD-XL's prompt encoding against the reference outputs.</summary>
public sealed class ClipParityTests(ITestOutputHelper output)
{
    [Fact]
    public void Both_tokenizers_give_the_reference_ids_for_the_prompt()
    {
        using var scope = torch.NewDisposeScope();
        var prompt = ClipFixture.Prompt;
        Assert.Equal(ClipFixture.Reference("text.ids").ToArray<long>(), CLIPTokenizer.Load(ClipFixture.Tokenizer).Encode(prompt));
        Assert.Equal(ClipFixture.Reference("text.ids_2").ToArray<long>(), CLIPTokenizer.Load(ClipFixture.Tokenizer2).Encode(prompt));
    }

    [Fact]
    public void Text_encoder_penultimate_hidden_state_matches()
    {
        using var model = CLIPTextModel.Load(ClipFixture.TextEncoder);
        using var scope = torch.NewDisposeScope();
        var ids = ClipFixture.Reference("text.ids");
        using var result = model.call(ids);
        Assert.Equal(model.config.NumHiddenLayers + 1, result.hidden_states.Count);
        Assert.Null(result.text_embeds);
        Assert.Equal([ids.size(0), model.config.HiddenSize], result.pooler_output.shape);
        Report(Parity.AssertClose(ClipFixture.Reference("text.te1_penultimate"), result.hidden_states[^2], name: "text.te1_penultimate"));
    }

    [Fact]
    public void Text_encoder_2_penultimate_hidden_state_and_text_embeds_match()
    {
        using var model = CLIPTextModelWithProjection.Load(ClipFixture.TextEncoder2);
        using var scope = torch.NewDisposeScope();
        using var result = model.call(ClipFixture.Reference("text.ids_2"));
        Assert.Equal(model.config.NumHiddenLayers + 1, result.hidden_states.Count);
        Report(Parity.AssertClose(ClipFixture.Reference("text.te2_penultimate"), result.hidden_states[^2], name: "text.te2_penultimate"));
        Report(Parity.AssertClose(ClipFixture.Reference("text.pooled"), result.text_embeds!, name: "text.pooled"));
    }

    [Fact]
    public void A_batch_gives_each_row_its_own_result()
    {
        using var model = CLIPTextModelWithProjection.Load(ClipFixture.TextEncoder2);
        using var scope = torch.NewDisposeScope();
        var ids = ClipFixture.Reference("text.ids_2");
        var empty = SdxlPromptEncoder.InputIds(CLIPTokenizer.Load(ClipFixture.Tokenizer2), "", torch.CPU);
        using var batch = model.call(torch.cat([empty, ids], 0));
        Parity.AssertClose(ClipFixture.Reference("text.te2_penultimate"), batch.hidden_states[^2].narrow(0, 1, 1), name: "batch row 1");
        Parity.AssertClose(ClipFixture.Reference("text.pooled"), batch.text_embeds!.narrow(0, 1, 1), name: "batch row 1 pooled");
        using var alone = model.call(empty);
        Parity.AssertClose(alone.text_embeds!, batch.text_embeds!.narrow(0, 0, 1), name: "batch row 0 pooled");
    }

    [Fact]
    public void Sdxl_prompt_encoding_matches_encode_prompt()
    {
        using var encoder = SdxlPromptEncoder.Load(FixturePaths.SdxlTiny);
        Assert.True(encoder.force_zeros_for_empty_prompt);
        using var scope = torch.NewDisposeScope();
        using var embeds = encoder.Encode(ClipFixture.Prompt);
        var expected = ClipFixture.Reference("text.prompt_embeds");
        Assert.Equal(encoder.text_encoder.config.HiddenSize + encoder.text_encoder_2.config.HiddenSize, expected.size(-1));
        Report(Parity.AssertClose(expected, embeds.prompt_embeds, name: "text.prompt_embeds"));
        Report(Parity.AssertClose(ClipFixture.Reference("text.pooled"), embeds.pooled_prompt_embeds, name: "text.pooled (encode_prompt)"));
        Assert.Equal(expected.shape, embeds.negative_prompt_embeds!.shape);
        Assert.Equal(embeds.pooled_prompt_embeds.shape, embeds.negative_pooled_prompt_embeds!.shape);
        Assert.Equal(0, embeds.negative_prompt_embeds.abs().sum().ItemDouble());
        Assert.Equal(0, embeds.negative_pooled_prompt_embeds.abs().sum().ItemDouble());
        Assert.False(embeds.prompt_embeds.requires_grad);
    }

    [Fact]
    public void Negative_prompts_are_encoded_unless_null_with_force_zeros()
    {
        using var te1 = CLIPTextModel.Load(ClipFixture.TextEncoder);
        using var te2 = CLIPTextModelWithProjection.Load(ClipFixture.TextEncoder2);
        var t1 = CLIPTokenizer.Load(ClipFixture.Tokenizer);
        var t2 = CLIPTokenizer.Load(ClipFixture.Tokenizer2);
        using var scope = torch.NewDisposeScope();
        var noZeros = new SdxlPromptEncoder(t1, t2, te1, te2, force_zeros_for_empty_prompt: false);
        var zeros = new SdxlPromptEncoder(t1, t2, te1, te2, force_zeros_for_empty_prompt: true);
        using var encodedEmpty = noZeros.Encode(ClipFixture.Prompt);
        using var emptyString = zeros.Encode(ClipFixture.Prompt, negative_prompt: ""); // diffusers: only None gives zeros
        using var asPrompt = zeros.Encode("");
        Assert.True(encodedEmpty.negative_prompt_embeds!.abs().sum().ItemDouble() > 0);
        Parity.AssertClose(asPrompt.prompt_embeds, encodedEmpty.negative_prompt_embeds, rel: 0, abs: 0, name: "negative \"\"");
        Parity.AssertClose(asPrompt.pooled_prompt_embeds, encodedEmpty.negative_pooled_prompt_embeds!, rel: 0, abs: 0, name: "negative pooled \"\"");
        Parity.AssertClose(asPrompt.prompt_embeds, emptyString.negative_prompt_embeds!, rel: 0, abs: 0, name: "negative \"\" with force_zeros");
        using var noGuidance = zeros.Encode(ClipFixture.Prompt, do_classifier_free_guidance: false);
        Assert.Null(noGuidance.negative_prompt_embeds);
        Assert.Null(noGuidance.negative_pooled_prompt_embeds);
    }

    [Fact]
    public void Clip_skip_takes_an_earlier_layer()
    {
        using var encoder = SdxlPromptEncoder.Load(FixturePaths.SdxlTiny);
        using var scope = torch.NewDisposeScope();
        using var skip1 = encoder.Encode(ClipFixture.Prompt, clip_skip: 1, do_classifier_free_guidance: false);
        using var out1 = encoder.text_encoder.call(ClipFixture.Reference("text.ids"));
        using var out2 = encoder.text_encoder_2.call(ClipFixture.Reference("text.ids_2"));
        var expected = torch.cat([out1.hidden_states[^3], out2.hidden_states[^3]], -1);
        Parity.AssertClose(expected, skip1.prompt_embeds, rel: 0, abs: 0, name: "clip_skip 1");
        Assert.Throws<ArgumentOutOfRangeException>(() => encoder.Encode("x", clip_skip: encoder.text_encoder.config.NumHiddenLayers));
    }

    private void Report(ParityError e) => output.WriteLine(e.ToString());
}
