namespace TLoRA.Gateway.Api;

/// <summary>The image types a concept image may be (what the GPU service decodes: PNG, JPEG, WebP), told by their
/// signature, not a file name or a client's word: the gateway's form, its image downloads and the WebUI's upload all
/// ask here.</summary>
public static class ImageTypes
{
    /// <summary>What the refusals name.</summary>
    public const string Accepted = "PNG, JPEG or WebP";

    /// <summary>image/png, image/jpeg or image/webp by the bytes' signature; null for anything else.</summary>
    public static string? MediaType(ReadOnlySpan<byte> b) =>
        b is [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, ..] ? "image/png"
        : b is [0xFF, 0xD8, 0xFF, ..] ? "image/jpeg"
        // RIFF, a 4-byte size, WEBP
        : b.Length >= 12 && b[..4].SequenceEqual("RIFF"u8) && b[8..12].SequenceEqual("WEBP"u8) ? "image/webp"
        : null;
}
