using System.Text;

namespace TLoRA.Engine.Tests.T5;

/// <summary>Writes small SentencePiece ModelProto files by hand (protobuf wire format) for tokenizer edge cases.</summary>
internal static class ModelProtoWriter
{
    /// <summary>A unigram model: &lt;pad&gt; 0, &lt;/s&gt; 1, &lt;unk&gt; 2, then <paramref name="pieces"/> (NORMAL unless
    /// given); normalizer "identity" without a compiled rule unless <paramref name="normalizerName"/> says otherwise.</summary>
    public static byte[] Unigram(IEnumerable<(string Piece, float Score, int Type)> pieces, int modelType = 1, string normalizerName = "identity")
    {
        var all = new List<(string, float, int)> { ("<pad>", 0, 3), ("</s>", 0, 3), ("<unk>", 0, 2) };
        all.AddRange(pieces);
        var model = new List<byte>();
        foreach (var (piece, score, type) in all)
            model.AddRange(Bytes(1, [.. Bytes(1, Encoding.UTF8.GetBytes(piece)), .. Float(2, score), .. Varint(3, (ulong)type)]));
        model.AddRange(Bytes(2, [.. Varint(3, (ulong)modelType), .. Varint(40, 2), .. Varint(41, ulong.MaxValue), .. Varint(42, 1), .. Varint(43, 0)]));
        model.AddRange(Bytes(3, Bytes(1, Encoding.UTF8.GetBytes(normalizerName))));
        return model.ToArray();
    }

    public static byte[] Varint(int field, ulong value) => [.. Tag(field, 0), .. Raw(value)];

    public static byte[] Float(int field, float value) => [.. Tag(field, 5), .. BitConverter.GetBytes(value)];

    public static byte[] Bytes(int field, byte[] value) => [.. Tag(field, 2), .. Raw((ulong)value.Length), .. value];

    private static byte[] Tag(int field, int wireType) => Raw(((ulong)field << 3) | (uint)wireType);

    private static byte[] Raw(ulong v)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(v & 0x7F);
            v >>= 7;
            bytes.Add(v != 0 ? (byte)(b | 0x80) : b);
        } while (v != 0);
        return bytes.ToArray();
    }
}
