using System.Runtime.InteropServices;
using TLoRA.Torch.Interop;

namespace TLoRA.Torch;

/// <summary>A seedable CPU random generator, as torch.Generator().manual_seed(seed): the same seed gives the same
/// numbers as PyTorch on the same libtorch. Random tensors for other devices are drawn on the CPU and moved.</summary>
public sealed class Generator : SafeHandle
{
    public Generator() : base(IntPtr.Zero, ownsHandle: true) { }

    public Generator(ulong seed) : base(IntPtr.Zero, ownsHandle: true)
    {
        var h = Native.tt_generator_new(seed);
        if (h == IntPtr.Zero) throw TorchException.FromNative();
        SetHandle(h);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    public Generator manual_seed(ulong seed)
    {
        TorchException.Check(Native.tt_generator_seed(this, seed));
        return this;
    }

    protected override bool ReleaseHandle()
    {
        Native.tt_generator_free(handle);
        return true;
    }
}
