using System.Globalization;
using System.Text.Json;

namespace TLoRA.Engine.Tokenizers;

/// <summary>
/// transformers' T5Tokenizer(Fast) as FLUX's <c>tokenizer_2/</c> holds it: a SentencePiece unigram model
/// (<c>spiece.model</c>) with its normalisation (nmt_nfkc for T5), Viterbi segmentation, unknown characters as
/// &lt;unk&gt; (a run of them as one), then &lt;/s&gt; and padding. The vocabulary is the model's pieces followed by
/// <see cref="ExtraIds"/> sentinel tokens &lt;extra_id_{n−1}&gt; … &lt;extra_id_0&gt; (extra_id_i = pieces + n − 1 − i).
/// <para>Special-token text inside a prompt ("&lt;/s&gt;", "&lt;extra_id_0&gt;") is segmented as plain text, not mapped
/// to its id as T5TokenizerFast would.</para>
/// </summary>
public sealed class T5Tokenizer
{
    /// <summary>transformers' T5Tokenizer default number of sentinel tokens.</summary>
    public const int DefaultExtraIds = 100;

    private readonly SentencePieceNormalizer normalizer;
    private readonly UnigramModel unigram;

    private T5Tokenizer(SentencePieceModel model, int extraIds, string source)
    {
        if (extraIds < 0) throw new InvalidDataException($"{source}: extra_ids must not be negative, got {extraIds}");
        Model = model;
        ExtraIds = extraIds;
        try
        {
            normalizer = new SentencePieceNormalizer(model.Normalizer);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{source}: {e.Message}", e);
        }
        unigram = new UnigramModel(model.Pieces, model.Trainer.UnkId);
        UnkId = model.Trainer.UnkId;
        EosId = SpecialId(model, model.Trainer.EosId, "eos_id", source);
        PadId = SpecialId(model, model.Trainer.PadId, "pad_id", source);
    }

    /// <summary>The SentencePiece model.</summary>
    public SentencePieceModel Model { get; }

    /// <summary>Number of SentencePiece pieces (ids 0 … SentencePieceSize − 1).</summary>
    public int SentencePieceSize => Model.Pieces.Count;

    /// <summary>Number of sentinel tokens after the pieces.</summary>
    public int ExtraIds { get; }

    /// <summary>Pieces plus sentinels (T5's config vocab_size is this rounded up, e.g. to a multiple of 128).</summary>
    public int VocabSize => SentencePieceSize + ExtraIds;

    public int PadId { get; }
    public int EosId { get; }
    public int UnkId { get; }

    /// <summary>Reads <c>spiece.model</c> of a tokenizer folder, and <c>extra_ids</c> from its tokenizer_config.json
    /// (100 when absent).</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The folder has no spiece.model.</exception>
    /// <exception cref="InvalidDataException">spiece.model or tokenizer_config.json is corrupt or unsupported (the
    /// message names the file).</exception>
    public static T5Tokenizer Load(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"tokenizer folder '{folder}' does not exist");
        var modelPath = Path.Combine(folder, "spiece.model");
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"tokenizer folder '{folder}' has no spiece.model", modelPath);
        return FromModelFile(modelPath, ReadExtraIds(Path.Combine(folder, "tokenizer_config.json")));
    }

    /// <summary>Reads a SentencePiece model file directly.</summary>
    public static T5Tokenizer FromModelFile(string path, int extraIds = DefaultExtraIds) =>
        new(SentencePieceModel.Load(path), extraIds, path);

    private static int ReadExtraIds(string configPath)
    {
        if (!File.Exists(configPath)) return DefaultExtraIds;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(configPath));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("extra_ids", out var e)
                ? e.GetInt32()
                : DefaultExtraIds;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{configPath}: cannot read extra_ids: {e.Message}", e);
        }
    }

    private static int SpecialId(SentencePieceModel model, int id, string name, string source) =>
        id >= 0 && id < model.Pieces.Count
            ? id
            : throw new InvalidDataException($"{source}: {name} {id} is not a piece of the {model.Pieces.Count} (T5 needs it)");

    /// <summary>The text as the model segments it: normalised, "▁" for spaces and in front.</summary>
    public string Normalize(string text) => normalizer.Normalize(text);

    /// <summary>The pieces and ids of the text, without &lt;/s&gt;, truncation or padding.</summary>
    public IReadOnlyList<SentencePieceToken> Tokenize(string text) => unigram.Encode(Normalize(text));

    /// <summary>Model input: the text's ids cut to <paramref name="maxSequenceLength"/> − 1, &lt;/s&gt;, then pad ids
    /// up to <paramref name="maxSequenceLength"/> (T5TokenizerFast with padding="max_length", truncation=True).</summary>
    public long[] Encode(string text, int maxSequenceLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequenceLength, 1);
        var tokens = Tokenize(text);
        var result = new long[maxSequenceLength];
        var n = Math.Min(tokens.Count, maxSequenceLength - 1);
        for (var i = 0; i < n; i++) result[i] = tokens[i].Id;
        result[n] = EosId;
        for (var i = n + 1; i < maxSequenceLength; i++) result[i] = PadId;
        return result;
    }

    /// <summary>The piece of an id, sentinels included ("&lt;extra_id_0&gt;" is the last id).</summary>
    public string IdToPiece(int id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(id, VocabSize);
        return id < SentencePieceSize
            ? Model.Pieces[id].Piece
            : string.Create(CultureInfo.InvariantCulture, $"<extra_id_{VocabSize - 1 - id}>");
    }
}
