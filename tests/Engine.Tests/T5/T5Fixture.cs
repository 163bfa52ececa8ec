using System.Text.Json;

namespace TLoRA.Engine.Tests.T5;

/// <summary>Paths and cases of the FLUX fixture's T5 side (text_encoder_2/, tokenizer_2/, reference_cases.json).</summary>
internal static class T5Fixture
{
    public static string TextEncoder2 => Path.Combine(FixturePaths.FluxTiny, "text_encoder_2");
    public static string Tokenizer2 => Path.Combine(FixturePaths.FluxTiny, "tokenizer_2");
    public static string SpieceModel => Path.Combine(Tokenizer2, "spiece.model");

    /// <summary>reference_cases.json, parsed (dispose the document).</summary>
    public static JsonDocument Cases() => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixturePaths.FluxTiny, "reference_cases.json")));

    /// <summary>A number of the cases' "t5" object (max_sequence_length, sp_size, tokenizer_vocab_size, ...).</summary>
    public static int T5Setting(string name)
    {
        using var doc = Cases();
        return doc.RootElement.GetProperty("t5").GetProperty(name).GetInt32();
    }

    /// <summary>The prompt and sequence length the text.* references were computed for (the "sample" case).</summary>
    public static (string Prompt, int MaxSequenceLength) Sample()
    {
        using var doc = Cases();
        var sample = doc.RootElement.GetProperty("sample");
        return (sample.GetProperty("prompt").GetString()!, sample.GetProperty("max_sequence_length").GetInt32());
    }
}
