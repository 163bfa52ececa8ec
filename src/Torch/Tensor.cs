using System.Runtime.InteropServices;
using TLoRA.Torch.Interop;

namespace TLoRA.Torch;

/// <summary>
/// A libtorch tensor owned through a native handle. Every operation returns a new tensor (registered with the current
/// <see cref="DisposeScope"/>, if any); dispose tensors or let a scope do it. Names follow TorchSharp.
/// </summary>
public partial class Tensor : SafeHandle
{
    /// <summary>Used by the interop marshaller only.</summary>
    public Tensor() : base(IntPtr.Zero, ownsHandle: true) { }

    internal Tensor(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(handle);
        DisposeScope.Register(this);
    }

    /// <summary>Takes over the native handle of <paramref name="source"/>, which is left closed.</summary>
    protected Tensor(Tensor source) : base(IntPtr.Zero, ownsHandle: true)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.IsClosed) throw new ObjectDisposedException(nameof(Tensor));
        SetHandle(source.handle);
        source.OwningScope = null;
        source.SetHandleAsInvalid();
    }

    internal DisposeScope? OwningScope { get; set; }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        Native.tt_free(handle);
        return true;
    }

    internal static Tensor Wrap(IntPtr h) => h == IntPtr.Zero ? throw TorchException.FromNative() : new Tensor(h);

    // ---- properties ----
    public int dim() => Native.tt_dim(this);
    public long numel() => Native.tt_numel(this);
    public ScalarType dtype => (ScalarType)Native.tt_dtype(this);
    public int element_size() => Native.tt_element_size(this);
    public Device device => new((DeviceType)Native.tt_device_type(this), Native.tt_device_index(this));
    public bool is_contiguous() => Native.tt_is_contiguous(this) != 0;
    public bool is_leaf => Native.tt_is_leaf(this) != 0;

    public unsafe long[] shape
    {
        get
        {
            var n = dim();
            var s = new long[n];
            fixed (long* p = s) Native.tt_shape(this, p);
            return s;
        }
    }

    public long size(int d)
    {
        var s = shape;
        var i = d < 0 ? d + s.Length : d;
        if (i < 0 || i >= s.Length) throw new ArgumentOutOfRangeException(nameof(d), d, $"tensor has {s.Length} dimensions");
        return s[i];
    }

    public unsafe long[] stride()
    {
        var s = new long[dim()];
        fixed (long* p = s) TorchException.Check(Native.tt_strides(this, p));
        return s;
    }

    // ---- dispose scopes ----
    /// <summary>Hands this tensor to the scope around the current one (or to nobody when there is none).</summary>
    public Tensor MoveToOuterDisposeScope()
    {
        var s = OwningScope;
        if (s is null) return this;
        OwningScope = null;
        s.Outer?.Adopt(this);
        return this;
    }

    /// <summary>Removes this tensor from its scope: the caller now disposes it.</summary>
    public Tensor DetachFromDisposeScope()
    {
        OwningScope = null;
        return this;
    }

    public override string ToString() =>
        IsClosed ? "tensor(disposed)" : $"tensor(shape=[{string.Join(", ", shape)}], dtype={dtype}, device={device})";
}

public partial class Tensor
{
    /// <summary>Makes this object own <paramref name="replacement"/>'s native tensor (which is left closed) and frees
    /// the one it held: how a module moves its parameters without changing the objects its fields point to.</summary>
    internal void ReplaceWith(Tensor replacement)
    {
        if (replacement.IsClosed) throw new ObjectDisposedException(nameof(Tensor));
        var old = handle;
        SetHandle(replacement.DangerousGetHandle());
        replacement.OwningScope = null;
        replacement.SetHandleAsInvalid();
        Interop.Native.tt_free(old);
    }
}
