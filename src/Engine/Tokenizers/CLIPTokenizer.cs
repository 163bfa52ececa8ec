using System.Text.Json;
using System.Text.RegularExpressions;

namespace TLoRA.Engine.Tokenizers;

/// <summary>
/// transformers' CLIPTokenizer read from a tokenizer folder (vocab.json, merges.txt, special_tokens_map.json,
/// tokenizer_config.json): normalised text, CLIP's pre-tokenizing pattern, byte-level BPE, then
/// &lt;|startoftext|&gt; ids &lt;|endoftext|&gt; truncated and padded to model_max_length with the folder's pad token
/// (SD-XL's two tokenizers differ: "&lt;|endoftext|&gt;" and "!").
/// </summary>
public sealed partial class CLIPTokenizer
{
    [GeneratedRegex(@"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    private readonly Dictionary<string, int> vocab;
    private readonly ByteLevelBpe bpe;

    private CLIPTokenizer(Dictionary<string, int> vocab, ByteLevelBpe bpe, int maxLength, string bos, string eos, string pad, string folder)
    {
        this.vocab = vocab;
        this.bpe = bpe;
        MaxLength = maxLength;
        BosId = Id(bos, folder);
        EosId = Id(eos, folder);
        PadId = Id(pad, folder);
    }

    public int MaxLength { get; }
    public int BosId { get; }
    public int EosId { get; }
    public int PadId { get; }
    public int VocabSize => vocab.Count;

    private int Id(string token, string folder) =>
        vocab.TryGetValue(token, out var id) ? id : throw new InvalidDataException($"{folder}: special token '{token}' is not in vocab.json");

    public static CLIPTokenizer Load(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"tokenizer folder '{folder}' does not exist");
        var vocabPath = Required(folder, "vocab.json");
        var mergesPath = Required(folder, "merges.txt");
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(vocabPath))
                    ?? throw new InvalidDataException($"{vocabPath}: empty");
        var merges = File.ReadLines(mergesPath)
            .Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal))
            .Select((l, i) =>
            {
                var parts = l.Split(' ');
                if (parts.Length != 2) throw new InvalidDataException($"{mergesPath}: line {i + 2} is not a pair: '{l}'");
                return (parts[0], parts[1]);
            }).ToList();
        var settings = ReadSettings(folder);
        var max = settings.TryGetValue("model_max_length", out var m) && m.ValueKind == JsonValueKind.Number && m.TryGetInt32(out var n) ? n : 77;
        return new CLIPTokenizer(vocab, new ByteLevelBpe(merges), max, Token(settings, "bos_token", "<|startoftext|>"),
            Token(settings, "eos_token", "<|endoftext|>"), Token(settings, "pad_token", "<|endoftext|>"), folder);
    }

    private static string Required(string folder, string name)
    {
        var p = Path.Combine(folder, name);
        return File.Exists(p) ? p : throw new FileNotFoundException($"tokenizer folder '{folder}' has no {name}", p);
    }

    /// <summary>tokenizer_config.json overlaid by special_tokens_map.json (which transformers gives precedence).</summary>
    private static Dictionary<string, JsonElement> ReadSettings(string folder)
    {
        var d = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var name in new[] { "tokenizer_config.json", "special_tokens_map.json" })
        {
            var p = Path.Combine(folder, name);
            if (!File.Exists(p)) continue;
            using var doc = JsonDocument.Parse(File.ReadAllBytes(p));
            foreach (var e in doc.RootElement.EnumerateObject()) d[e.Name] = e.Value.Clone();
        }
        return d;
    }

    private static string Token(Dictionary<string, JsonElement> s, string key, string fallback) =>
        !s.TryGetValue(key, out var v) ? fallback
        : v.ValueKind == JsonValueKind.String ? v.GetString()!
        : v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) ? c.GetString()! : fallback;

    /// <summary>BPE token ids of the text, without special tokens, padding or truncation.</summary>
    public List<int> Tokenize(string text)
    {
        var ids = new List<int>();
        foreach (Match w in Pattern().Matches(ClipTextNormalizer.Normalize(text)))
        {
            if (vocab.TryGetValue(w.Value, out var special) && w.Value.StartsWith("<|", StringComparison.Ordinal)) { ids.Add(special); continue; }
            foreach (var piece in bpe.Split(ByteLevelBpe.EncodeBytes(w.Value)))
                ids.Add(vocab.TryGetValue(piece, out var id) ? id : EosId); // unk_token is <|endoftext|>
        }
        return ids;
    }

    /// <summary>Model input: bos, at most MaxLength − 2 tokens, eos, then pad ids up to MaxLength.</summary>
    public long[] Encode(string text)
    {
        var tokens = Tokenize(text);
        var result = new long[MaxLength];
        result[0] = BosId;
        var n = Math.Min(tokens.Count, MaxLength - 2);
        for (var i = 0; i < n; i++) result[i + 1] = tokens[i];
        result[n + 1] = EosId;
        for (var i = n + 2; i < MaxLength; i++) result[i] = PadId;
        return result;
    }
}
