using System.Globalization;
using TLoRA.Engine.Tokenizers;

namespace TLoRA.Engine.Tests.T5;

/// <summary>The T5 tokenizer (tokenizer_2/spiece.model) against T5TokenizerFast's ids and pieces.</summary>
public sealed class T5TokenizerTests
{
    private static readonly Lazy<T5Tokenizer> Fixture = new(() => T5Tokenizer.Load(T5Fixture.Tokenizer2));

    public static IEnumerable<object[]> Cases()
    {
        using var doc = T5Fixture.Cases();
        foreach (var list in new[] { "tokenizer", "tokenizer_t5_only" })
            foreach (var c in doc.RootElement.GetProperty(list).EnumerateArray())
                yield return [c.GetProperty("text").GetString()!, c.GetProperty("t5_ids").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                    c.GetProperty("t5_pieces").EnumerateArray().Select(e => e.GetString()!).ToArray()];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_case_gives_the_reference_ids_and_pieces(string text, long[] ids, string[] pieces)
    {
        var tokenizer = Fixture.Value;
        Assert.Equal(ids, tokenizer.Encode(text, T5Fixture.T5Setting("max_sequence_length")));
        Assert.Equal(pieces, tokenizer.Tokenize(text).Select(t => t.Piece));
    }

    public static IEnumerable<object[]> Texts() => Cases().Select(c => new[] { c[0] });

    [Theory]
    [MemberData(nameof(Texts))]
    public void Nfkc_fallback_normalises_like_the_compiled_rule(string text)
    {
        var spec = Fixture.Value.Model.Normalizer;
        Assert.Equal("nmt_nfkc", spec.Name);
        var fallback = new SentencePieceNormalizer(spec with { PrecompiledCharsMap = [] });
        Assert.Equal(Fixture.Value.Normalize(text), fallback.Normalize(text));
    }

    [Fact]
    public void Sizes_and_special_ids_follow_the_model_and_the_config()
    {
        var t = Fixture.Value;
        Assert.Equal(T5Fixture.T5Setting("sp_size"), t.SentencePieceSize);
        Assert.Equal(T5Fixture.T5Setting("tokenizer_vocab_size"), t.VocabSize);
        Assert.Equal(T5Fixture.T5Setting("pad_id"), t.PadId);
        Assert.Equal(T5Fixture.T5Setting("eos_id"), t.EosId);
        Assert.Equal(T5Fixture.T5Setting("unk_id"), t.UnkId);
        Assert.Equal(T5Tokenizer.DefaultExtraIds, t.ExtraIds);
        for (var i = 0; i < t.ExtraIds; i++)
            Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"<extra_id_{i}>"), t.IdToPiece(t.SentencePieceSize + t.ExtraIds - 1 - i));
        Assert.Equal("</s>", t.IdToPiece(t.EosId));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.IdToPiece(t.VocabSize));
        var configVocab = T5Fixture.T5Setting("config_vocab_size");
        Assert.InRange(configVocab, t.VocabSize, t.VocabSize + 127);
    }

    [Theory]
    [InlineData("  a\t\tphoto\u00A0 of\u200b  ", "\u2581a\u2581photo\u2581of")]
    [InlineData(" \u3000 ", "")]
    [InlineData("x\u0001y", "\u2581xy")]
    [InlineData("a \u2581 b", "\u2581a\u2581b")]
    [InlineData("e\u0301", "\u2581\u00E9")]
    public void Normalisation_handles_whitespace_controls_and_composition(string input, string expected) =>
        Assert.Equal(expected, Fixture.Value.Normalize(input));

    [Fact]
    public void Truncation_keeps_room_for_eos_and_length_one_is_eos_only()
    {
        var t = Fixture.Value;
        var tokens = t.Tokenize("a photo of sks dog");
        var ids = t.Encode("a photo of sks dog", 3);
        Assert.Equal([tokens[0].Id, tokens[1].Id, t.EosId], ids);
        Assert.Equal([(long)t.EosId], t.Encode("a photo", 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Encode("a", 0));
    }

    [Fact]
    public void Viterbi_takes_the_best_total_score_and_fuses_unknown_runs()
    {
        using var dir = new TempDir();
        var path = dir.Write("spiece.model", ModelProtoWriter.Unigram(
            [("\u2581", -1, 1), ("a", -2, 1), ("b", -2, 1), ("ab", -3.5f, 1), ("\u2581a", -3.9f, 1), ("\u2581ab", -6f, 1), ("zz", -1, 5)]));
        var t = T5Tokenizer.FromModelFile(path);
        // "▁ab": ▁ab (−6) loses to ▁ + ab (−4.5); ▁a + b = −5.9.
        Assert.Equal(["\u2581", "ab"], t.Tokenize("ab").Select(p => p.Piece));
        // Unknown characters: a run is one <unk>; unknown characters apart stay apart; UNUSED pieces are never produced.
        Assert.Equal([("\u2581", 3), ("xyz", 2), ("a", 4), ("zz", 2)], t.Tokenize("xyzazz").Select(p => (p.Piece, p.Id)));
        Assert.Equal([("\u2581", 3), ("x", 2), ("a", 4), ("\u00E9", 2), ("\u2581", 3), ("\U0001F600", 2)],
            t.Tokenize("xaé \U0001F600").Select(p => (p.Piece, p.Id)));
    }

    [Fact]
    public void Missing_or_corrupt_model_files_are_clear_errors_naming_the_file()
    {
        using var dir = new TempDir();
        var e1 = Assert.Throws<FileNotFoundException>(() => T5Tokenizer.Load(dir.Path));
        Assert.Contains("spiece.model", e1.Message);
        Assert.Throws<DirectoryNotFoundException>(() => T5Tokenizer.Load(dir.File("none")));

        var bytes = File.ReadAllBytes(T5Fixture.SpieceModel);
        var truncated = dir.Write("spiece.model", bytes[..(bytes.Length / 2)]);
        var e2 = Assert.Throws<InvalidDataException>(() => T5Tokenizer.Load(dir.Path));
        Assert.Contains(truncated, e2.Message);

        var text = dir.Write("text.model", "this is not a protobuf file\n"u8.ToArray());
        var e3 = Assert.Throws<InvalidDataException>(() => T5Tokenizer.FromModelFile(text));
        Assert.Contains(text, e3.Message);

        var empty = dir.Write("empty.model", []);
        Assert.Contains("no pieces", Assert.Throws<InvalidDataException>(() => T5Tokenizer.FromModelFile(empty)).Message);
    }

    [Fact]
    public void Non_unigram_models_are_refused_by_name()
    {
        using var dir = new TempDir();
        var path = dir.Write("bpe.model", ModelProtoWriter.Unigram([("a", -1, 1)], modelType: 2));
        var e = Assert.Throws<InvalidDataException>(() => T5Tokenizer.FromModelFile(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("BPE", e.Message);
        Assert.Contains("UNIGRAM", e.Message);
    }
}
