using System.Runtime.InteropServices;

namespace TLoRA.Torch.Interop;

/// <summary>Declarations of the shim's image codecs (native/src/tt_image.cpp).</summary>
internal static unsafe partial class Native
{
    [LibraryImport(Lib)] internal static partial IntPtr tt_decode_image(byte* data, long nbytes);
    [LibraryImport(Lib)] internal static partial IntPtr tt_encode_png(Tensor image);
}
