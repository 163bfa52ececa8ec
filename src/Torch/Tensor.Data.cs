using System.Runtime.InteropServices;
using TLoRA.Torch.Interop;

namespace TLoRA.Torch;

public partial class Tensor
{
    private static readonly Dictionary<Type, ScalarType> ManagedTypes = new()
    {
        [typeof(float)] = ScalarType.Float32, [typeof(double)] = ScalarType.Float64, [typeof(Half)] = ScalarType.Float16,
        [typeof(long)] = ScalarType.Int64, [typeof(int)] = ScalarType.Int32, [typeof(short)] = ScalarType.Int16,
        [typeof(byte)] = ScalarType.Byte, [typeof(sbyte)] = ScalarType.Int8, [typeof(bool)] = ScalarType.Bool,
    };

    internal static ScalarType ScalarTypeOf<T>() where T : unmanaged =>
        ManagedTypes.TryGetValue(typeof(T), out var t) ? t : throw new NotSupportedException($"no tensor element type for {typeof(T)}");

    /// <summary>Copies the elements (converted to <typeparamref name="T"/>'s dtype if needed) into a new array.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        var result = new T[numel()];
        CopyTo<T>(result);
        return result;
    }

    /// <summary>Copies the elements, row-major, into <paramref name="destination"/> (exactly numel long).</summary>
    public unsafe void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        var want = ScalarTypeOf<T>();
        var src = dtype == want ? this : to(want);
        try
        {
            fixed (T* p = destination)
                TorchException.Check(Native.tt_copy_to_bytes(src, p, (long)destination.Length * sizeof(T)));
        }
        finally
        {
            if (!ReferenceEquals(src, this)) src.Dispose();
        }
    }

    /// <summary>The raw bytes of the elements (in this tensor's dtype), row-major, little-endian.</summary>
    public unsafe byte[] ToBytes()
    {
        var bytes = new byte[numel() * element_size()];
        fixed (byte* p = bytes) TorchException.Check(Native.tt_copy_to_bytes(this, p, bytes.Length));
        return bytes;
    }

    /// <summary>Writable view of a contiguous CPU tensor's memory, valid while the tensor lives (used to read files
    /// straight into a tensor).</summary>
    public unsafe Span<byte> RawBytes()
    {
        var p = Native.tt_data_ptr(this);
        if (p == IntPtr.Zero) throw TorchException.FromNative();
        return new Span<byte>((void*)p, checked((int)(numel() * element_size())));
    }

    public double item() => TorchException.CheckValue(Native.tt_item_double(this, out var v), v);

    public T item<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(long)) return (T)(object)TorchException.CheckValue(Native.tt_item_int64(this, out var l), l);
        if (typeof(T) == typeof(int)) return (T)(object)checked((int)TorchException.CheckValue(Native.tt_item_int64(this, out var i), i));
        if (typeof(T) == typeof(bool)) return (T)(object)(item() != 0);
        if (typeof(T) == typeof(float)) return (T)(object)(float)item();
        if (typeof(T) == typeof(double)) return (T)(object)item();
        throw new NotSupportedException($"item<{typeof(T).Name}>");
    }
}
