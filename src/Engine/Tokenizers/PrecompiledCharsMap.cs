using System.Buffers.Binary;

namespace TLoRA.Engine.Tokenizers;

/// <summary>
/// SentencePiece's precompiled normalisation rule (NormalizerSpec.precompiled_charsmap): a little-endian uint32 with
/// the trie's size in bytes, a Darts-clone double-array trie over UTF-8 source strings, then a blob of NUL-terminated
/// UTF-8 replacements that the trie's values point into. For "nmt_nfkc" it holds NFKC of every code point and of the
/// composable sequences, plus the nmt rules (most ASCII controls removed; tab, newlines, zero-width and a few other
/// spaces, U+2581 and U+FFFD become a space).
/// </summary>
internal sealed class PrecompiledCharsMap
{
    private readonly uint[] units;
    private readonly byte[] replacements;

    private PrecompiledCharsMap(uint[] units, byte[] replacements)
    {
        this.units = units;
        this.replacements = replacements;
    }

    /// <summary>Splits the blob into trie and replacements.</summary>
    /// <exception cref="InvalidDataException">The blob is too short for the sizes it declares.</exception>
    public static PrecompiledCharsMap Parse(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < 4) throw new InvalidDataException($"precompiled_charsmap of {blob.Length} bytes is too short");
        var trieBytes = BinaryPrimitives.ReadUInt32LittleEndian(blob);
        if (trieBytes % 4 != 0 || trieBytes == 0 || trieBytes > (uint)(blob.Length - 4))
            throw new InvalidDataException($"precompiled_charsmap declares a {trieBytes}-byte trie in {blob.Length - 4} bytes");
        var units = new uint[trieBytes / 4];
        for (var i = 0; i < units.Length; i++) units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob.Slice(4 + 4 * i, 4));
        return new PrecompiledCharsMap(units, blob[(4 + (int)trieBytes)..].ToArray());
    }

    /// <summary>The longest source string that <paramref name="input"/> starts with (Darts' commonPrefixSearch, longest
    /// result, as sentencepiece's Normalizer::NormalizePrefix takes it): its length in bytes and its replacement; 0 and
    /// an empty span when no source string is a prefix.</summary>
    public int LongestPrefix(ReadOnlySpan<byte> input, out ReadOnlySpan<byte> replacement)
    {
        replacement = default;
        var longest = 0;
        var value = -1;
        uint node = Offset(units[0]);
        for (var i = 0; i < input.Length; i++)
        {
            node ^= input[i];
            if (node >= units.Length) break;
            var unit = units[node];
            if (Label(unit) != input[i]) break;
            node ^= Offset(unit);
            if (HasLeaf(unit))
            {
                if (node >= units.Length) throw new InvalidDataException("precompiled_charsmap: a leaf points outside the trie");
                longest = i + 1;
                value = (int)(units[node] & 0x7FFFFFFF);
            }
        }
        if (longest == 0) return 0;
        if (value >= replacements.Length) throw new InvalidDataException($"precompiled_charsmap: replacement offset {value} is outside the {replacements.Length}-byte blob");
        var rest = replacements.AsSpan(value);
        var end = rest.IndexOf((byte)0);
        replacement = end < 0 ? rest : rest[..end];
        return longest;
    }

    // Darts-clone's DoubleArrayUnit: bit 8 = has_leaf, low byte (and bit 31) = label, bits 10.. = offset (shifted by 8
    // more when bit 9 is set).
    private static bool HasLeaf(uint unit) => ((unit >> 8) & 1) == 1;
    private static uint Label(uint unit) => unit & ((1u << 31) | 0xFF);
    private static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);
}
