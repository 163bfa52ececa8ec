namespace TLoRA.Engine.IO;

/// <summary>
/// A safetensors file, sharded checkpoint index or component folder that cannot be used: bad header, bad offsets,
/// truncated data, unsupported dtype, missing shard. The message names the file and, where relevant, the tensor.
/// </summary>
public sealed class SafetensorsException : IOException
{
    /// <summary>Creates the exception; the message is prefixed with <paramref name="filePath"/>.</summary>
    /// <param name="filePath">The file (or folder) the problem is in.</param>
    /// <param name="message">What is wrong, without the file name.</param>
    /// <param name="tensorName">The tensor concerned, if any.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public SafetensorsException(string filePath, string message, string? tensorName = null, Exception? inner = null)
        : base($"{filePath}: {message}", inner)
    {
        FilePath = filePath;
        TensorName = tensorName;
    }

    /// <summary>The file (or folder) the problem is in.</summary>
    public string FilePath { get; }

    /// <summary>The tensor concerned, or null when the problem is not about one tensor.</summary>
    public string? TensorName { get; }
}
