using System.Text;

namespace TLoRA.Rpc.Protocol;

/// <summary>
/// The percent-encoding of <c>grpc-message</c>: the UTF-8 bytes of the text, where every byte outside
/// 0x20-0x7E and the byte '%' are written as "%XX" (upper-case hex).
/// </summary>
internal static class PercentEncoding
{
    private const string Hex = "0123456789ABCDEF";

    public static string Encode(string text)
    {
        var needs = false;
        foreach (var c in text)
        {
            if (c < 0x20 || c > 0x7E || c == '%') { needs = true; break; }
        }
        if (!needs) return text;
        var bytes = Encoding.UTF8.GetBytes(text);
        var sb = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (b >= 0x20 && b <= 0x7E && b != (byte)'%') sb.Append((char)b);
            else sb.Append('%').Append(Hex[b >> 4]).Append(Hex[b & 0xF]);
        }
        return sb.ToString();
    }

    /// <summary>
    /// Decodes leniently, as the spec demands: a broken "%" sequence is kept as it is, invalid UTF-8 becomes U+FFFD;
    /// never throws.
    /// </summary>
    public static string Decode(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        if (value.IndexOf('%') < 0) return value;
        var bytes = new List<byte>(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '%' && i + 2 < value.Length &&
                TryHex(value[i + 1], out var hi) && TryHex(value[i + 2], out var lo))
            {
                bytes.Add((byte)((hi << 4) | lo));
                i += 2;
            }
            else if (c <= 0x7F)
            {
                bytes.Add((byte)c);
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static bool TryHex(char c, out int value)
    {
        value = c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'A' and <= 'F' => c - 'A' + 10,
            >= 'a' and <= 'f' => c - 'a' + 10,
            _ => -1,
        };
        return value >= 0;
    }
}
