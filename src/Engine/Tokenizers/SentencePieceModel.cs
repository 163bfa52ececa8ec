namespace TLoRA.Engine.Tokenizers;

/// <summary>SentencePiece's ModelProto.SentencePiece.Type.</summary>
public enum SentencePieceType
{
    /// <summary>An ordinary piece, used by segmentation.</summary>
    Normal = 1,
    /// <summary>The &lt;unk&gt; piece.</summary>
    Unknown = 2,
    /// <summary>A control symbol (&lt;pad&gt;, &lt;/s&gt;): never produced from text.</summary>
    Control = 3,
    /// <summary>A user-defined symbol: always segmented as one piece.</summary>
    UserDefined = 4,
    /// <summary>A piece kept in the vocabulary but never produced.</summary>
    Unused = 5,
    /// <summary>A byte-fallback piece (&lt;0xAB&gt;).</summary>
    Byte = 6,
}

/// <summary>One vocabulary entry of a SentencePiece model: its text, log-probability score and type.</summary>
public sealed record SentencePiece(string Piece, float Score, SentencePieceType Type);

/// <summary>The TrainerSpec fields the tokenizer needs (defaults are the proto's).</summary>
public sealed record SentencePieceTrainerSpec
{
    /// <summary>1 = UNIGRAM, 2 = BPE, 3 = WORD, 4 = CHAR.</summary>
    public int ModelType { get; init; } = 1;
    public int VocabSize { get; init; } = 8000;
    public bool TreatWhitespaceAsSuffix { get; init; }
    public bool ByteFallback { get; init; }
    public int UnkId { get; init; }
    public int BosId { get; init; } = 1;
    public int EosId { get; init; } = 2;
    public int PadId { get; init; } = -1;
}

/// <summary>The NormalizerSpec fields the tokenizer needs (defaults are the proto's).</summary>
public sealed record SentencePieceNormalizerSpec
{
    /// <summary>The rule's name ("nmt_nfkc" for T5).</summary>
    public string Name { get; init; } = "";
    /// <summary>The compiled rule: a Darts double-array trie of source strings and their replacements (may be empty).</summary>
    public byte[] PrecompiledCharsMap { get; init; } = [];
    public bool AddDummyPrefix { get; init; } = true;
    public bool RemoveExtraWhitespaces { get; init; } = true;
    public bool EscapeWhitespaces { get; init; } = true;
}

/// <summary>
/// A SentencePiece model file (<c>spiece.model</c>, a serialized ModelProto) reduced to what encoding needs: the pieces
/// (field 1), the trainer spec (field 2) and the normalizer spec (field 3). Other fields are skipped.
/// </summary>
public sealed class SentencePieceModel
{
    private SentencePieceModel(IReadOnlyList<SentencePiece> pieces, SentencePieceTrainerSpec trainer, SentencePieceNormalizerSpec normalizer)
    {
        Pieces = pieces;
        Trainer = trainer;
        Normalizer = normalizer;
    }

    /// <summary>The vocabulary, in id order.</summary>
    public IReadOnlyList<SentencePiece> Pieces { get; }
    public SentencePieceTrainerSpec Trainer { get; }
    public SentencePieceNormalizerSpec Normalizer { get; }

    /// <summary>Reads and checks a model file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid ModelProto, or describes a model this tokenizer
    /// cannot run (not unigram, byte fallback, whitespace as suffix, no &lt;unk&gt;); the message names the file.</exception>
    public static SentencePieceModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"SentencePiece model '{path}' does not exist", path);
        try
        {
            return Parse(File.ReadAllBytes(path));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: not a usable SentencePiece model: {e.Message}", e);
        }
    }

    /// <summary>Parses and checks ModelProto bytes (see <see cref="Load"/>).</summary>
    public static SentencePieceModel Parse(ReadOnlySpan<byte> bytes)
    {
        var pieces = new List<SentencePiece>();
        var trainer = new SentencePieceTrainerSpec();
        var normalizer = new SentencePieceNormalizerSpec();
        var reader = new ProtobufReader(bytes);
        while (!reader.End)
        {
            var (field, type) = reader.ReadTag();
            switch (field)
            {
                case 1: pieces.Add(ReadPiece(reader.ReadMessage(type), pieces.Count)); break;
                case 2: trainer = ReadTrainer(reader.ReadMessage(type), trainer); break;
                case 3: normalizer = ReadNormalizer(reader.ReadMessage(type), normalizer); break;
                default: reader.Skip(type); break;
            }
        }
        var model = new SentencePieceModel(pieces, trainer, normalizer);
        model.Validate();
        return model;
    }

    private void Validate()
    {
        if (Pieces.Count == 0) throw new InvalidDataException("no pieces");
        if (Trainer.ModelType != 1)
        {
            var name = Trainer.ModelType switch { 2 => "BPE", 3 => "WORD", 4 => "CHAR", var t => t.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            throw new InvalidDataException($"model_type {name} is not supported; only UNIGRAM (T5's) is");
        }
        if (Trainer.ByteFallback) throw new InvalidDataException("byte_fallback models are not supported");
        if (Trainer.TreatWhitespaceAsSuffix) throw new InvalidDataException("treat_whitespace_as_suffix models are not supported");
        if (Trainer.UnkId < 0 || Trainer.UnkId >= Pieces.Count || Pieces[Trainer.UnkId].Type != SentencePieceType.Unknown)
            throw new InvalidDataException($"unk_id {Trainer.UnkId} is not an UNKNOWN piece of the {Pieces.Count}");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Pieces.Count; i++)
        {
            if (!seen.Add(Pieces[i].Piece)) throw new InvalidDataException($"piece {i} '{Pieces[i].Piece}' is defined twice");
            if (Pieces[i].Type == SentencePieceType.Unknown && i != Trainer.UnkId) throw new InvalidDataException($"piece {i} is a second UNKNOWN piece");
        }
    }

    private static SentencePiece ReadPiece(ProtobufReader r, int index)
    {
        string? piece = null;
        float score = 0;
        var kind = SentencePieceType.Normal;
        while (!r.End)
        {
            var (field, type) = r.ReadTag();
            switch (field)
            {
                case 1: piece = r.ReadString(type); break;
                case 2: score = r.ReadFloat(type); break;
                case 3: kind = (SentencePieceType)r.ReadInt32(type); break;
                default: r.Skip(type); break;
            }
        }
        if (string.IsNullOrEmpty(piece)) throw new InvalidDataException($"piece {index} has no text");
        if (!Enum.IsDefined(kind)) throw new InvalidDataException($"piece {index} '{piece}' has unknown type {(int)kind}");
        if (!float.IsFinite(score)) throw new InvalidDataException($"piece {index} '{piece}' has score {score}");
        return new SentencePiece(piece, score, kind);
    }

    private static SentencePieceTrainerSpec ReadTrainer(ProtobufReader r, SentencePieceTrainerSpec spec)
    {
        while (!r.End)
        {
            var (field, type) = r.ReadTag();
            spec = field switch
            {
                3 => spec with { ModelType = r.ReadInt32(type) },
                4 => spec with { VocabSize = r.ReadInt32(type) },
                24 => spec with { TreatWhitespaceAsSuffix = r.ReadBool(type) },
                35 => spec with { ByteFallback = r.ReadBool(type) },
                40 => spec with { UnkId = r.ReadInt32(type) },
                41 => spec with { BosId = r.ReadInt32(type) },
                42 => spec with { EosId = r.ReadInt32(type) },
                43 => spec with { PadId = r.ReadInt32(type) },
                _ => Skipped(ref r, type, spec),
            };
        }
        return spec;
    }

    private static SentencePieceNormalizerSpec ReadNormalizer(ProtobufReader r, SentencePieceNormalizerSpec spec)
    {
        while (!r.End)
        {
            var (field, type) = r.ReadTag();
            spec = field switch
            {
                1 => spec with { Name = r.ReadString(type) },
                2 => spec with { PrecompiledCharsMap = r.ReadBytes(type).ToArray() },
                3 => spec with { AddDummyPrefix = r.ReadBool(type) },
                4 => spec with { RemoveExtraWhitespaces = r.ReadBool(type) },
                5 => spec with { EscapeWhitespaces = r.ReadBool(type) },
                _ => Skipped(ref r, type, spec),
            };
        }
        return spec;
    }

    private static T Skipped<T>(ref ProtobufReader r, WireType type, T unchanged)
    {
        r.Skip(type);
        return unchanged;
    }
}
