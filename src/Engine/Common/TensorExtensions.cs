using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine;

/// <summary>The few tensor and module helpers the engine needs that TorchSharp lacks.</summary>
public static class TensorExtensions
{
    private static readonly Dictionary<Type, ScalarType> ManagedTypes = new()
    {
        [typeof(float)] = ScalarType.Float32, [typeof(double)] = ScalarType.Float64,
        [typeof(Half)] = ScalarType.Float16, [typeof(long)] = ScalarType.Int64, [typeof(int)] = ScalarType.Int32,
        [typeof(short)] = ScalarType.Int16, [typeof(byte)] = ScalarType.Byte, [typeof(sbyte)] = ScalarType.Int8,
        [typeof(bool)] = ScalarType.Bool,
    };

    /// <summary>The tensor element type of a managed type (float → Float32, long → Int64, ...).</summary>
    public static ScalarType ScalarTypeOf<T>() where T : unmanaged =>
        ManagedTypes.TryGetValue(typeof(T), out var t)
            ? t
            : throw new NotSupportedException($"no tensor element type for {typeof(T)}");

    // Held by a static field for the process's lifetime: never finalized, so never freed under a running op.
    private static readonly Scalar One = 1L.ToScalar();

    /// <summary>a + b. TorchSharp's operator + makes an implicit alpha Scalar that a garbage collection on another
    /// thread can free while libtorch reads it (see <see cref="Common.Scalars"/>); this passes a Scalar that lives
    /// for ever.</summary>
    public static Tensor Plus(this Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        return a.add(b, One);
    }

    /// <summary>a + s (a scalar held alive, e.g. <see cref="Common.Scalars.Sc(double)"/>), without TorchSharp's implicit
    /// alpha Scalar.</summary>
    public static Tensor Plus(this Tensor a, Scalar s)
    {
        ArgumentNullException.ThrowIfNull(a);
        return a.add(s, One);
    }

    /// <summary>s − a, without TorchSharp's implicit alpha Scalar.</summary>
    public static Tensor SubtractedFrom(this Tensor a, Scalar s)
    {
        ArgumentNullException.ThrowIfNull(a);
        using var negated = a.neg();
        return negated.add(s, One);
    }

    /// <summary>a += s in place, without TorchSharp's implicit alpha Scalar.</summary>
    public static Tensor PlusInPlace(this Tensor a, Scalar s)
    {
        ArgumentNullException.ThrowIfNull(a);
        return a.add_(s, One);
    }

    /// <summary>The value of a one-element tensor. TorchSharp's own ToDouble() reads it through a Scalar that nothing
    /// holds during the read, so a garbage collection on another thread can free it mid-read (a NaN or garbage loss,
    /// see <see cref="Common.Scalars"/>); here the Scalar lives until it has been read.</summary>
    public static double ItemDouble(this Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        using var s = t.ToScalar();
        return s.ToDouble();
    }

    /// <summary>The value of a one-element integral tensor, read like <see cref="ItemDouble"/>.</summary>
    public static long ItemInt64(this Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        using var s = t.ToScalar();
        return s.ToInt64();
    }

    /// <summary>Whether <paramref name="type"/> is a floating-point element type.</summary>
    public static bool IsFloatingPoint(this ScalarType type) =>
        type is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64;

    /// <summary>The elements, row-major, converted to <typeparamref name="T"/>'s dtype and copied to the CPU.</summary>
    public static T[] ToArray<T>(this Tensor tensor) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var scope = torch.NewDisposeScope();
        var cpu = tensor.to(ScalarTypeOf<T>(), torch.CPU).contiguous();
        return cpu.data<T>().ToArray();
    }

    /// <summary>Sets requires_grad on every parameter of <paramref name="module"/> (PyTorch's Module.requires_grad_).</summary>
    public static T requires_grad_<T>(this T module, bool on = true) where T : nn.Module
    {
        ArgumentNullException.ThrowIfNull(module);
        foreach (var p in module.parameters()) p.requires_grad = on;
        return module;
    }
}
