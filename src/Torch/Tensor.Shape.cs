using TLoRA.Torch.Interop;

namespace TLoRA.Torch;

/// <summary>Views, reshapes, splits, slicing, indexing and conversion.</summary>
public partial class Tensor
{
    public unsafe Tensor view(params long[] shape) { fixed (long* p = shape) return Wrap(Native.tt_view(this, p, shape.Length)); }
    public unsafe Tensor reshape(params long[] shape) { fixed (long* p = shape) return Wrap(Native.tt_reshape(this, p, shape.Length)); }
    public unsafe Tensor permute(params long[] order) { fixed (long* p = order) return Wrap(Native.tt_permute(this, p, order.Length)); }
    public unsafe Tensor expand(params long[] shape) { fixed (long* p = shape) return Wrap(Native.tt_expand(this, p, shape.Length)); }
    public unsafe Tensor repeat(params long[] reps) { fixed (long* p = reps) return Wrap(Native.tt_repeat(this, p, reps.Length)); }
    public unsafe Tensor flip(params long[] dims) { fixed (long* p = dims) return Wrap(Native.tt_flip(this, p, dims.Length)); }
    public Tensor repeat_interleave(long repeats, long dim) => Wrap(Native.tt_repeat_interleave(this, repeats, dim));
    public Tensor transpose(long dim0, long dim1) => Wrap(Native.tt_transpose(this, dim0, dim1));
    /// <summary>Matrix transpose of the last two dimensions.</summary>
    public Tensor mT => transpose(-2, -1);
    public Tensor flatten(long startDim = 0, long endDim = -1) => Wrap(Native.tt_flatten(this, startDim, endDim));
    public Tensor unsqueeze(long dim) => Wrap(Native.tt_unsqueeze(this, dim));
    public Tensor squeeze(long? dim = null) => Wrap(Native.tt_squeeze(this, dim ?? 0, dim.HasValue ? 0 : 1));

    public unsafe Tensor[] chunk(long chunks, long dim = 0)
    {
        var buf = new IntPtr[chunks];
        fixed (IntPtr* p = buf) return Collect(buf, Native.tt_chunk(this, chunks, dim, p, buf.Length));
    }

    /// <summary>Pieces of <paramref name="size"/> along <paramref name="dim"/> (the last may be smaller).</summary>
    public unsafe Tensor[] split(long size, long dim = 0)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), size, "split size must be positive");
        var buf = new IntPtr[Math.Max(1, (this.size((int)dim) + size - 1) / size)];
        fixed (IntPtr* p = buf) return Collect(buf, Native.tt_split(this, size, dim, p, buf.Length));
    }

    public unsafe Tensor[] split(long[] sizes, long dim = 0)
    {
        var buf = new IntPtr[sizes.Length];
        fixed (long* s = sizes)
        fixed (IntPtr* p = buf) return Collect(buf, Native.tt_split_sizes(this, s, sizes.Length, dim, p, buf.Length));
    }

    internal static Tensor[] Collect(IntPtr[] handles, int count)
    {
        if (count < 0) throw TorchException.FromNative();
        var result = new Tensor[count];
        for (var i = 0; i < count; i++) result[i] = new Tensor(handles[i]);
        return result;
    }

    /// <summary>Elements start..end (exclusive) with a step along a dimension, as Python's x[..., start:end:step].</summary>
    public Tensor slice(long dim, long start, long end, long step = 1) => Wrap(Native.tt_slice(this, dim, start, end, step));
    public Tensor narrow(long dim, long start, long length) => Wrap(Native.tt_narrow(this, dim, start, length));
    /// <summary>Index <paramref name="index"/> of dimension <paramref name="dim"/>, which is removed.</summary>
    public Tensor select(long dim, long index) => Wrap(Native.tt_select(this, dim, index));
    public Tensor index_select(long dim, Tensor index) => Wrap(Native.tt_index_select(this, dim, index));
    public Tensor gather(long dim, Tensor index) => Wrap(Native.tt_gather(this, dim, index));
    public Tensor tril(long diagonal = 0) => Wrap(Native.tt_tril(this, diagonal));
    public Tensor triu(long diagonal = 0) => Wrap(Native.tt_triu(this, diagonal));

    // ---- conversion ----
    public Tensor to(ScalarType type, bool copy = false) => to(device, type, copy);
    public Tensor to(Device target, bool copy = false) => to(target, dtype, copy);
    public Tensor to(Device target, ScalarType type, bool copy = false) =>
        Wrap(Native.tt_to(this, (int)type, (int)target.type, target.index, copy ? 1 : 0));
    public Tensor to(string target) => to(Device.Parse(target));
    public Tensor cpu() => to(Device.CPU);
    public Tensor cuda(int index = 0) => to(Device.CUDA(index));
    public Tensor @float() => to(ScalarType.Float32);
    public Tensor half() => to(ScalarType.Float16);
    public Tensor bfloat16() => to(ScalarType.BFloat16);
    public Tensor @long() => to(ScalarType.Int64);
    public Tensor clone() => Wrap(Native.tt_clone(this));
    /// <summary>Same storage, cut from the autograd graph.</summary>
    public Tensor detach() => Wrap(Native.tt_detach(this));
    public Tensor contiguous() => Wrap(Native.tt_contiguous(this));
    /// <summary>A second handle to the same tensor (same storage, same autograd identity).</summary>
    public Tensor alias() => Wrap(Native.tt_alias(this));
}
