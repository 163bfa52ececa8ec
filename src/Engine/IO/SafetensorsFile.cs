using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.IO;

/// <summary>
/// An open safetensors file: the header is parsed and validated by <see cref="Open"/> (so a corrupt or truncated file
/// fails there, not halfway through loading), tensors are read on demand straight from the file into new CPU tensors.
/// <see cref="Read"/> may be called from several threads at once (positional reads); each new tensor joins the
/// calling thread's current <see cref="DisposeScope"/>, if any.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly SafeFileHandle file;
    private readonly Dictionary<string, SafetensorsEntry> entries;
    private readonly string[] names;

    private SafetensorsFile(string path, SafeFileHandle file, SafetensorsHeader header)
    {
        Path = path;
        this.file = file;
        names = header.Entries.Select(e => e.Name).ToArray();
        entries = header.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        Metadata = header.Metadata;
        DataStart = header.DataStart;
    }

    /// <summary>Opens <paramref name="path"/> and validates its header.</summary>
    /// <exception cref="SafetensorsException">The file is not a valid safetensors file (too short, bad header,
    /// unsupported dtype, offsets out of range or overlapping, truncated data).</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        try
        {
            return new SafetensorsFile(path, handle, SafetensorsHeader.Read(path, handle));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The path the file was opened with.</summary>
    public string Path { get; }

    /// <summary>The header's <c>__metadata__</c> (empty when there is none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Every tensor's record, by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries => entries;

    /// <summary>Tensor names in header order.</summary>
    public IReadOnlyList<string> Names => names;

    /// <summary>Number of tensors.</summary>
    public int Count => names.Length;

    /// <summary>Absolute file position of the data buffer (8 + header length).</summary>
    public long DataStart { get; }

    /// <summary>Whether the file holds a tensor called <paramref name="name"/>.</summary>
    public bool Contains(string name) => entries.ContainsKey(name);

    /// <summary>The header record of <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor (the message names the file and the tensor).</exception>
    public SafetensorsEntry Entry(string name) =>
        entries.TryGetValue(name, out var e) ? e : throw Missing(name);

    /// <summary>Reads one tensor into a new contiguous CPU tensor of the header's dtype and shape.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor (the message names the file and the tensor).</exception>
    /// <exception cref="SafetensorsException">The file became shorter since it was opened.</exception>
    public Tensor Read(string name)
    {
        ObjectDisposedException.ThrowIf(file.IsClosed, this);
        var entry = Entry(name);
        var tensor = torch.empty(entry.Shape, entry.Dtype);
        try
        {
            TensorBytes.ReadInto(tensor, Path, file, entry.FileOffset);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>Reads every tensor; on failure the ones already read are disposed.</summary>
    public Dictionary<string, Tensor> ReadAll() => ReadEach(names, Read);

    /// <summary>Reads the named tensors with <paramref name="read"/>; on failure the ones already read are disposed.</summary>
    internal static Dictionary<string, Tensor> ReadEach(IReadOnlyList<string> tensorNames, Func<string, Tensor> read)
    {
        var result = new Dictionary<string, Tensor>(tensorNames.Count, StringComparer.Ordinal);
        try
        {
            foreach (var name in tensorNames) result[name] = read(name);
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    internal KeyNotFoundException Missing(string name) =>
        new($"{Path}: no tensor '{name}' in this file ({names.Length} tensors)");

    /// <summary>Closes the file.</summary>
    public void Dispose() => file.Dispose();

    /// <inheritdoc />
    public override string ToString() => $"{Path} ({names.Length} tensors)";
}
