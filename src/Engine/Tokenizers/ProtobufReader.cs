using System.Buffers.Binary;
using System.Text;

namespace TLoRA.Engine.Tokenizers;

/// <summary>Protocol-buffers wire types (the low 3 bits of a field's tag).</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

/// <summary>
/// A minimal reader of the protocol-buffers wire format, enough for SentencePiece's ModelProto: tags, varints
/// (int32/enum/bool), length-delimited fields (strings, bytes, sub-messages), fixed32 (float) and fixed64, and
/// skipping of fields the caller does not read. Malformed input (a truncated value, an over-long varint, a length past
/// the end, groups, invalid UTF-8 in a string) throws <see cref="InvalidDataException"/> with the byte offset.
/// </summary>
internal ref struct ProtobufReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlySpan<byte> data;
    private readonly long origin;
    private int position;

    /// <param name="data">The message's bytes.</param>
    /// <param name="origin">Offset of <paramref name="data"/> in the file, for error messages.</param>
    public ProtobufReader(ReadOnlySpan<byte> data, long origin = 0)
    {
        this.data = data;
        this.origin = origin;
        position = 0;
    }

    /// <summary>Whether every byte of the message has been read.</summary>
    public readonly bool End => position >= data.Length;

    /// <summary>The current position as an offset in the file.</summary>
    public readonly long Offset => origin + position;

    /// <summary>Reads a field's tag: its number (≥ 1) and wire type.</summary>
    public (int Field, WireType Type) ReadTag()
    {
        var at = Offset;
        var tag = ReadVarint();
        var field = tag >> 3;
        var type = (WireType)(tag & 7);
        if (field == 0 || field > int.MaxValue) throw Error($"invalid field number {field}", at);
        if (type is WireType.StartGroup or WireType.EndGroup || (int)type > 5) throw Error($"unsupported wire type {(int)type} of field {field}", at);
        return ((int)field, type);
    }

    /// <summary>Reads a base-128 varint (at most 10 bytes).</summary>
    public ulong ReadVarint()
    {
        var at = Offset;
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (position >= data.Length) throw Error("truncated varint", at);
            var b = data[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw Error("varint longer than 10 bytes", at);
    }

    /// <summary>An int32 or enum field (negative values are sign-extended 10-byte varints).</summary>
    public int ReadInt32(WireType type)
    {
        Expect(type, WireType.Varint);
        return unchecked((int)(long)ReadVarint());
    }

    /// <summary>A bool field.</summary>
    public bool ReadBool(WireType type)
    {
        Expect(type, WireType.Varint);
        return ReadVarint() != 0;
    }

    /// <summary>A float field (fixed32, little-endian IEEE 754).</summary>
    public float ReadFloat(WireType type)
    {
        Expect(type, WireType.Fixed32);
        return BinaryPrimitives.ReadSingleLittleEndian(Take(4));
    }

    /// <summary>A bytes field, as a slice of the input.</summary>
    public ReadOnlySpan<byte> ReadBytes(WireType type)
    {
        Expect(type, WireType.LengthDelimited);
        var at = Offset;
        var length = ReadVarint();
        if (length > (ulong)(data.Length - position)) throw Error($"length {length} runs past the end of the message", at);
        return Take((int)length);
    }

    /// <summary>A string field (UTF-8).</summary>
    public string ReadString(WireType type)
    {
        var at = Offset;
        var bytes = ReadBytes(type);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Error("string is not valid UTF-8", at);
        }
    }

    /// <summary>A sub-message field: a reader over its bytes.</summary>
    public ProtobufReader ReadMessage(WireType type)
    {
        var bytes = ReadBytes(type);
        return new ProtobufReader(bytes, Offset - bytes.Length);
    }

    /// <summary>Skips the value of a field the caller does not read.</summary>
    public void Skip(WireType type)
    {
        switch (type)
        {
            case WireType.Varint: ReadVarint(); break;
            case WireType.Fixed64: Take(8); break;
            case WireType.Fixed32: Take(4); break;
            case WireType.LengthDelimited: ReadBytes(type); break;
            default: throw Error($"cannot skip wire type {(int)type}", Offset);
        }
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > data.Length - position) throw Error($"truncated value ({count} bytes needed, {data.Length - position} left)", Offset);
        var slice = data.Slice(position, count);
        position += count;
        return slice;
    }

    private readonly void Expect(WireType actual, WireType expected)
    {
        if (actual != expected) throw Error($"wire type {actual} where {expected} was expected", Offset);
    }

    private static InvalidDataException Error(string what, long offset) => new($"{what} at byte {offset}");
}
