using System.Collections;
using System.Text;

namespace TLoRA.Rpc;

/// <summary>
/// gRPC custom metadata (request headers, response headers, trailers): an ordered list of key/value entries. Keys are
/// lower-case; keys ending in <c>-bin</c> carry binary values (base64 on the wire), the others printable ASCII.
/// </summary>
public sealed class Metadata : IEnumerable<Metadata.Entry>
{
    /// <summary>The suffix that marks binary keys.</summary>
    public const string BinarySuffix = "-bin";

    private readonly List<Entry> _entries = [];

    /// <summary>The number of entries.</summary>
    public int Count => _entries.Count;

    /// <summary>The entry at <paramref name="index"/>.</summary>
    public Entry this[int index] => _entries[index];

    /// <summary>Adds an ASCII entry; the key must not end in <c>-bin</c>.</summary>
    public Metadata Add(string key, string value)
    {
        _entries.Add(new Entry(key, value));
        return this;
    }

    /// <summary>Adds a binary entry; the key must end in <c>-bin</c>.</summary>
    public Metadata Add(string key, byte[] value)
    {
        _entries.Add(new Entry(key, value));
        return this;
    }

    /// <summary>Adds an existing entry.</summary>
    public Metadata Add(Entry entry)
    {
        _entries.Add(entry);
        return this;
    }

    /// <summary>The last entry with <paramref name="key"/> (case-insensitive), or null.</summary>
    public Entry? Get(string key)
    {
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            if (string.Equals(_entries[i].Key, key, StringComparison.OrdinalIgnoreCase)) return _entries[i];
        }
        return null;
    }

    /// <summary>Every entry with <paramref name="key"/> (case-insensitive), in order.</summary>
    public IEnumerable<Entry> GetAll(string key) =>
        _entries.Where(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase));

    /// <summary>The string value of the last ASCII entry with <paramref name="key"/>, or null.</summary>
    public string? GetValue(string key) => Get(key) is { IsBinary: false } e ? e.Value : null;

    /// <summary>The bytes of the last binary entry with <paramref name="key"/>, or null.</summary>
    public byte[]? GetValueBytes(string key) => Get(key) is { IsBinary: true } e ? e.ValueBytes : null;

    /// <inheritdoc />
    public IEnumerator<Entry> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>True for keys that end in <c>-bin</c>.</summary>
    public static bool IsBinaryKey(string key) => key.EndsWith(BinarySuffix, StringComparison.OrdinalIgnoreCase);

    /// <summary>One metadata entry.</summary>
    public sealed class Entry
    {
        private readonly string? _value;
        private readonly byte[]? _bytes;

        /// <summary>An ASCII entry.</summary>
        public Entry(string key, string value)
        {
            Key = NormalizeKey(key);
            if (IsBinaryKey(Key)) throw new ArgumentException($"Key '{key}' ends in -bin: use the byte[] overload.", nameof(key));
            foreach (var c in value)
            {
                if (c < 0x20 || c > 0x7E) throw new ArgumentException($"Value of '{key}' is not printable ASCII.", nameof(value));
            }
            _value = value;
        }

        /// <summary>A binary entry.</summary>
        public Entry(string key, byte[] value)
        {
            Key = NormalizeKey(key);
            if (!IsBinaryKey(Key)) throw new ArgumentException($"Binary key '{key}' must end in -bin.", nameof(key));
            _bytes = value;
        }

        /// <summary>The lower-case key.</summary>
        public string Key { get; }

        /// <summary>True when the key ends in <c>-bin</c>.</summary>
        public bool IsBinary => _bytes is not null;

        /// <summary>The ASCII value; for binary entries, their base64 (unpadded) form.</summary>
        public string Value => _value ?? Convert.ToBase64String(_bytes!).TrimEnd('=');

        /// <summary>The binary value; for ASCII entries, their ASCII bytes.</summary>
        public byte[] ValueBytes => _bytes ?? Encoding.ASCII.GetBytes(_value!);

        /// <inheritdoc />
        public override string ToString() => IsBinary ? $"{Key}: <{_bytes!.Length} bytes>" : $"{Key}: {_value}";

        private static string NormalizeKey(string key)
        {
            ArgumentException.ThrowIfNullOrEmpty(key);
            var lower = key.ToLowerInvariant();
            foreach (var c in lower)
            {
                var ok = c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.';
                if (!ok) throw new ArgumentException($"Metadata key '{key}' has a character outside [0-9a-z_.-].", nameof(key));
            }
            return lower;
        }
    }
}
