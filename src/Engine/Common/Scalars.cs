using TorchSharp;

namespace TLoRA.Engine.Common;

/// <summary>
/// Scalars for TorchSharp ops that stay alive until the op is done. TorchSharp 0.107 turns a C# number into a
/// <see cref="Scalar"/> (a native object with a finalizer) and does not keep it alive across the native call, so a
/// garbage collection triggered by another thread can finalize — free — it while libtorch reads it: the UNet forward
/// of bench/Engine.Bench then returned NaN in most runs. Every number the engine passes to a tensor op goes through
/// <see cref="Sc(double)"/>: the scalar is held by this thread's ring and disposed deterministically once
/// <see cref="Capacity"/> newer ones exist (ops are synchronous: it was used long before).
/// </summary>
public static class Scalars
{
    /// <summary>Scalars held per thread before the oldest is disposed; one expression never needs as many.</summary>
    public const int Capacity = 256;

    [ThreadStatic] private static Queue<Scalar>? held;

    /// <summary>A floating-point scalar held alive on this thread.</summary>
    public static Scalar Sc(double value) => Hold(value.ToScalar());

    /// <summary>An integral scalar (integer tensors stay integral) held alive on this thread.</summary>
    public static Scalar Sc(long value) => Hold(value.ToScalar());

    private static Scalar Hold(Scalar s)
    {
        var q = held ??= new Queue<Scalar>(Capacity + 1);
        q.Enqueue(s);
        if (q.Count > Capacity) q.Dequeue().Dispose();
        return s;
    }
}
