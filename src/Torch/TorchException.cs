using System.Runtime.InteropServices;
using TLoRA.Torch.Interop;

namespace TLoRA.Torch;

/// <summary>An error raised by libtorch, carrying its message (without the C++ backtrace).</summary>
public sealed class TorchException : Exception
{
    public TorchException(string message) : base(message) { }

    /// <summary>Builds the exception from the shim's thread-local error message.</summary>
    internal static TorchException FromNative()
    {
        var p = Native.tt_last_error();
        var msg = p == IntPtr.Zero ? "libtorch call failed without a message" : Marshal.PtrToStringUTF8(p)!;
        Native.tt_clear_error();
        return new TorchException(msg.TrimEnd());
    }

    /// <summary>Throws when a status-returning native call reports failure.</summary>
    internal static void Check(int status)
    {
        if (status < 0) throw FromNative();
    }

    internal static T CheckValue<T>(int status, T value)
    {
        Check(status);
        return value;
    }
}
