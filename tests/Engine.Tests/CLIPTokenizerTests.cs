using System.Text.Json;
using TLoRA.Engine.Tokenizers;

namespace TLoRA.Engine.Tests;

public class CLIPTokenizerTests
{
    public static IEnumerable<object[]> Cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixturePaths.SdxlTiny, "reference_cases.json")));
        foreach (var c in doc.RootElement.GetProperty("tokenizer").EnumerateArray())
            yield return [c.GetProperty("text").GetString()!, c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                c.GetProperty("ids_2").EnumerateArray().Select(e => e.GetInt64()).ToArray()];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Both_sdxl_tokenizers_give_the_reference_ids(string text, long[] ids, long[] ids2)
    {
        Assert.Equal(ids, CLIPTokenizer.Load(Path.Combine(FixturePaths.SdxlTiny, "tokenizer")).Encode(text));
        Assert.Equal(ids2, CLIPTokenizer.Load(Path.Combine(FixturePaths.SdxlTiny, "tokenizer_2")).Encode(text));
    }

    [Fact]
    public void Pad_tokens_come_from_the_folder_and_length_from_its_config()
    {
        var t1 = CLIPTokenizer.Load(Path.Combine(FixturePaths.SdxlTiny, "tokenizer"));
        var t2 = CLIPTokenizer.Load(Path.Combine(FixturePaths.SdxlTiny, "tokenizer_2"));
        Assert.Equal(t1.EosId, t1.PadId);
        Assert.Equal(0, t2.PadId); // "!"
        Assert.Equal(FixtureFacts.Json(FixturePaths.SdxlTiny, "tokenizer", "tokenizer_config.json").GetProperty("model_max_length").GetInt32(),
            t1.MaxLength);
        Assert.Equal(FixtureFacts.Json(FixturePaths.SdxlTiny, "tokenizer", "vocab.json").EnumerateObject().Count(), t1.VocabSize);
    }

    [Theory]
    [InlineData("  A\tPHOTO\nof  ", "a photo of")]
    [InlineData("dog\u200b\u0000 cat", "dog cat")]
    [InlineData("猫和狗", "猫 和 狗")]
    public void Normalisation_cleans_whitespace_controls_case_and_spaces_ideographs(string input, string expected) =>
        Assert.Equal(expected, ClipTextNormalizer.Normalize(input));

    [Fact]
    public void A_folder_without_vocab_is_a_clear_error()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<FileNotFoundException>(() => CLIPTokenizer.Load(dir.Path));
        Assert.Contains("has no vocab.json", ex.Message);
        Assert.Throws<DirectoryNotFoundException>(() => CLIPTokenizer.Load(dir.File("none")));
    }
}
