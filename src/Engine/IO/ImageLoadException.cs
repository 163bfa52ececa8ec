namespace TLoRA.Engine.IO;

/// <summary>An image file that cannot be used: unreadable, not a decodable PNG/JPEG, or too small. The message names
/// the file.</summary>
public sealed class ImageLoadException : IOException
{
    /// <summary>Creates the exception for <paramref name="path"/>.</summary>
    public ImageLoadException(string path, string message, Exception? inner = null) : base(message, inner) => FilePath = path;

    /// <summary>The image file concerned.</summary>
    public string FilePath { get; }
}
