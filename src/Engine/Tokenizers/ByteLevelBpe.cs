using System.Collections.Concurrent;

namespace TLoRA.Engine.Tokenizers;

/// <summary>
/// GPT-2/CLIP byte-level BPE: a word's UTF-8 bytes are mapped to printable characters (bytes_to_unicode), the last
/// one marked with "&lt;/w&gt;", and adjacent pairs are merged by rank until no ranked pair is left.
/// </summary>
public sealed class ByteLevelBpe
{
    private static readonly string[] ByteToUnicode = BuildByteMap();
    private readonly Dictionary<(string, string), int> ranks;
    private readonly ConcurrentDictionary<string, string[]> cache = new(StringComparer.Ordinal);

    public ByteLevelBpe(IEnumerable<(string Left, string Right)> merges)
    {
        ranks = new Dictionary<(string, string), int>();
        var i = 0;
        foreach (var m in merges) ranks.TryAdd(m, i++);
    }

    public int MergeCount => ranks.Count;

    /// <summary>The characters standing for a string's UTF-8 bytes.</summary>
    public static string EncodeBytes(string word)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(word);
        return string.Concat(bytes.Select(b => ByteToUnicode[b]));
    }

    /// <summary>BPE pieces of one pre-tokenized word (already byte-encoded).</summary>
    public string[] Split(string byteEncodedWord) => cache.GetOrAdd(byteEncodedWord, Merge);

    private string[] Merge(string word)
    {
        if (word.Length == 0) return [];
        // every byte maps to one UTF-16 char below U+0144, so chars are the symbols
        var parts = new List<string>(word.Length);
        for (var i = 0; i < word.Length; i++) parts.Add(i == word.Length - 1 ? word[i] + "</w>" : word[i].ToString());
        while (parts.Count > 1)
        {
            var best = -1;
            var bestRank = int.MaxValue;
            for (var i = 0; i < parts.Count - 1; i++)
                if (ranks.TryGetValue((parts[i], parts[i + 1]), out var r) && r < bestRank) { bestRank = r; best = i; }
            if (best < 0) break;
            var (left, right) = (parts[best], parts[best + 1]);
            var merged = new List<string>(parts.Count);
            for (var i = 0; i < parts.Count; i++)
            {
                if (i < parts.Count - 1 && parts[i] == left && parts[i + 1] == right) { merged.Add(left + right); i++; }
                else merged.Add(parts[i]);
            }
            parts = merged;
        }
        return parts.ToArray();
    }

    private static string[] BuildByteMap()
    {
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range('¡', '¬' - '¡' + 1)).Concat(Enumerable.Range('®', 'ÿ' - '®' + 1)).ToHashSet();
        var map = new string[256];
        var next = 0;
        for (var b = 0; b < 256; b++) map[b] = ((char)(printable.Contains(b) ? b : 256 + next++)).ToString();
        return map;
    }
}
