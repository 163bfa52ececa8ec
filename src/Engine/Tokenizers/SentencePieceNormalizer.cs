using System.Text;

namespace TLoRA.Engine.Tokenizers;

/// <summary>
/// sentencepiece's Normalizer::Normalize: the text is rewritten left to right, each step replacing the longest prefix
/// the precompiled rule knows (one character unchanged otherwise); then, per the spec, leading and trailing whitespace
/// is dropped and inner runs collapse to one space (remove_extra_whitespaces), "▁" is put in front (add_dummy_prefix)
/// and spaces become "▁" (escape_whitespaces). A model without a compiled rule falls back to .NET's NFKC plus the nmt
/// rules for the "nfkc" / "nmt_nfkc" names, and to no rewriting for "identity" or no name.
/// <para>T5TokenizerFast (tokenizers' Precompiled normaliser) looks rules up per grapheme cluster instead; the two agree
/// except on rare clusters such as a fullwidth letter followed by a combining mark.</para>
/// </summary>
internal sealed class SentencePieceNormalizer
{
    private const string SpaceSymbol = "\u2581";
    private static readonly byte[] SpaceSymbolBytes = Encoding.UTF8.GetBytes(SpaceSymbol);

    private readonly SentencePieceNormalizerSpec spec;
    private readonly PrecompiledCharsMap? charsMap;
    private readonly Func<string, string>? fallback;

    public SentencePieceNormalizer(SentencePieceNormalizerSpec spec)
    {
        this.spec = spec;
        if (spec.PrecompiledCharsMap.Length > 0) charsMap = PrecompiledCharsMap.Parse(spec.PrecompiledCharsMap);
        else fallback = spec.Name switch
        {
            "" or "identity" => null,
            "nfkc" => s => s.Normalize(NormalizationForm.FormKC),
            "nmt_nfkc" => NmtNfkc,
            _ => throw new InvalidDataException($"normalizer '{spec.Name}' has no precompiled_charsmap and is not one this tokenizer can compute"),
        };
    }

    /// <summary>The normalised text, whitespace already escaped as "▁" (when the spec says so).</summary>
    public string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (fallback is not null) text = fallback(text);
        ReadOnlySpan<byte> input = Encoding.UTF8.GetBytes(text);
        var output = new List<byte>(input.Length + 16);
        var space = spec.EscapeWhitespaces ? SpaceSymbolBytes : " "u8.ToArray();
        if (spec.RemoveExtraWhitespaces)
        {
            while (!input.IsEmpty)
            {
                var length = Prefix(input, out var rewritten);
                if (!rewritten.SequenceEqual(" "u8)) break;
                input = input[length..];
            }
        }
        if (input.IsEmpty) return "";
        if (spec.AddDummyPrefix) output.AddRange(space);
        var previousIsSpace = spec.RemoveExtraWhitespaces;
        while (!input.IsEmpty)
        {
            var length = Prefix(input, out var rewritten);
            while (previousIsSpace && !rewritten.IsEmpty && rewritten[0] == (byte)' ') rewritten = rewritten[1..];
            if (!rewritten.IsEmpty)
            {
                foreach (var b in rewritten)
                {
                    if (b == (byte)' ' && spec.EscapeWhitespaces) output.AddRange(SpaceSymbolBytes);
                    else output.Add(b);
                }
                previousIsSpace = rewritten[^1] == (byte)' ';
            }
            input = input[length..];
            if (!spec.RemoveExtraWhitespaces) previousIsSpace = false;
        }
        if (spec.RemoveExtraWhitespaces)
        {
            while (output.Count >= space.Length && output.Skip(output.Count - space.Length).SequenceEqual(space))
                output.RemoveRange(output.Count - space.Length, space.Length);
        }
        return Encoding.UTF8.GetString(output.ToArray());
    }

    /// <summary>One normalisation step: bytes consumed and their rewriting.</summary>
    private int Prefix(ReadOnlySpan<byte> input, out ReadOnlySpan<byte> rewritten)
    {
        if (charsMap is not null)
        {
            var matched = charsMap.LongestPrefix(input, out rewritten);
            if (matched > 0) return matched;
        }
        // No rule: one UTF-8 character unchanged (the input comes from a .NET string, so it is well-formed).
        var length = Utf8Length(input[0]);
        length = Math.Min(length, input.Length);
        rewritten = input[..length];
        return length;
    }

    private static int Utf8Length(byte lead) => lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;

    /// <summary>NFKC, then sentencepiece's nmt rules: ASCII controls other than tab and newlines (and U+008F, U+009F)
    /// removed; tab, LF, FF, CR, U+1680, U+200B, U+200C, U+200E, U+200F, U+2028, U+2029, U+2581, U+FEFF and U+FFFD
    /// made a space.</summary>
    internal static string NmtNfkc(string text)
    {
        var nfkc = text.Normalize(NormalizationForm.FormKC);
        var sb = new StringBuilder(nfkc.Length);
        foreach (var c in nfkc)
        {
            switch (c)
            {
                case '\t' or '\n' or '\f' or '\r' or '\u1680' or '\u200B' or '\u200C' or '\u200E' or '\u200F' or '\u2028' or '\u2029'
                    or '\u2581' or '\uFEFF' or '\uFFFD':
                    sb.Append(' ');
                    break;
                case >= '\u0001' and < ' ' or '\u007F' or '\u008F' or '\u009F':
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }
}
