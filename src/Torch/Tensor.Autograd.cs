using TLoRA.Torch.Interop;

namespace TLoRA.Torch;

public partial class Tensor
{
    public bool requires_grad
    {
        get => Native.tt_requires_grad(this) != 0;
        set => TorchException.Check(Native.tt_set_requires_grad(this, value ? 1 : 0));
    }

    public Tensor requires_grad_(bool on = true)
    {
        requires_grad = on;
        return this;
    }

    /// <summary>The accumulated gradient, as a new handle, or null when there is none. Dispose it after use.</summary>
    public Tensor? grad
    {
        get
        {
            var h = Native.tt_grad(this);
            if (h != IntPtr.Zero) return new Tensor(h);
            if (Native.tt_last_error() != IntPtr.Zero) throw TorchException.FromNative();
            return null;
        }
        set
        {
            TorchException.Check(Native.tt_set_grad(this, value.RawHandle()));
            GC.KeepAlive(value);
        }
    }

    /// <summary>Computes gradients of this tensor (a scalar unless <paramref name="gradient"/> is given).</summary>
    public void backward(Tensor? gradient = null, bool retainGraph = false)
    {
        TorchException.Check(Native.tt_backward(this, gradient.RawHandle(), retainGraph ? 1 : 0));
        GC.KeepAlive(gradient);
    }
}

internal static class HandleExtensions
{
    /// <summary>Raw handle of an optional tensor; the caller keeps it alive across the native call.</summary>
    internal static IntPtr RawHandle(this Tensor? t)
    {
        if (t is null) return IntPtr.Zero;
        ObjectDisposedException.ThrowIf(t.IsClosed, t);
        return t.DangerousGetHandle();
    }

    internal static IntPtr RawHandle(this Generator? g)
    {
        if (g is null) return IntPtr.Zero;
        ObjectDisposedException.ThrowIf(g.IsClosed, g);
        return g.DangerousGetHandle();
    }
}
