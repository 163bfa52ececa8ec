using System.Buffers.Binary;
using System.Text;

namespace TLoRA.Engine.Tests;

/// <summary>A fresh temporary folder, deleted on dispose, with helpers to write hand-made safetensors bytes.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Path = Directory.CreateTempSubdirectory("tlora-engine-tests-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes raw bytes to <paramref name="name"/> and returns its path.</summary>
    public string Write(string name, byte[] bytes)
    {
        var p = File(name);
        System.IO.File.WriteAllBytes(p, bytes);
        return p;
    }

    /// <summary>Writes a safetensors file made by hand: length prefix, header JSON (space-padded to 8 bytes unless
    /// <paramref name="pad"/> is false), data.</summary>
    public string WriteSafetensors(string name, string headerJson, byte[] data, bool pad = true) =>
        Write(name, Build(headerJson, data, pad));

    public static byte[] Build(string headerJson, byte[] data, bool pad = true)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var headerLength = pad ? (header.Length + 7) / 8 * 8 : header.Length;
        var bytes = new byte[8 + headerLength + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)headerLength);
        header.CopyTo(bytes, 8);
        for (var i = 8 + header.Length; i < 8 + headerLength; i++) bytes[i] = (byte)' ';
        data.CopyTo(bytes, 8 + headerLength);
        return bytes;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
