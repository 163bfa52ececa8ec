namespace TLoRA.Rpc.Protocol;

/// <summary>Converts between HTTP/2 header fields and <see cref="Metadata"/> (base64 for "-bin" keys).</summary>
internal static class MetadataCodec
{
    /// <summary>
    /// Adds one header field to <paramref name="metadata"/> unless it is reserved. Binary values are split on ","
    /// (joined duplicates) and base64-decoded, padded or not; an undecodable binary value is dropped.
    /// </summary>
    public static void AddHeader(Metadata metadata, string name, string? value)
    {
        if (value is null || GrpcProtocol.IsReservedHeader(name)) return;
        var key = name.ToLowerInvariant();
        if (Metadata.IsBinaryKey(key))
        {
            foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (TryDecodeBase64(part) is { } bytes) metadata.Add(key, bytes);
            }
            return;
        }
        try
        {
            metadata.Add(key, value.Trim());
        }
        catch (ArgumentException)
        {
            // Valid HTTP but outside gRPC's ASCII-Value range: the spec allows dropping it.
        }
    }

    /// <summary>The wire form of one entry's value (unpadded base64 for binary entries).</summary>
    public static string Encode(Metadata.Entry entry) => entry.Value;

    private static byte[]? TryDecodeBase64(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        var pad = s.Length % 4;
        if (pad == 1) return null;
        if (pad > 0) s += new string('=', 4 - pad);
        try
        {
            return Convert.FromBase64String(s);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
