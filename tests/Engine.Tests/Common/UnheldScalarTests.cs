using System.Reflection;
using TorchSharp;
using static TLoRA.Engine.Tests.Common.IlCalls;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Common;

/// <summary>
/// The cause of the NaN losses of mid-size training, kept out for good: TorchSharp 0.107 turns numbers into
/// <see cref="Scalar"/> objects and many of its methods (Tensor + Tensor, ToDouble, square, the operators taking a C#
/// number, ...) pass such a Scalar's handle to libtorch without keeping the object alive, so a garbage collection on
/// another thread can free it while libtorch reads it (bench with TLORA_GC_STRESS=1 at 47212f4: 9 of 12 mid training
/// runs failed reading a freed c10::Scalar). This test reads the IL: it lists every TorchSharp method that makes a
/// Scalar and never disposes one, then fails if any method of the engine calls one of them, or converts a number to a
/// Scalar itself without disposing it (<see cref="Engine.Common.Scalars.Sc(double)"/> holds them).
/// </summary>
public sealed class UnheldScalarTests
{
    [Fact]
    public void No_engine_method_hands_libtorch_a_scalar_that_the_GC_may_free()
    {
        var unheld = UnheldClosure(typeof(Tensor).Assembly);
        Assert.Contains("TorchSharp.torch+Tensor.add(Tensor)", unheld); // the scan sees what it must
        Assert.Contains("TorchSharp.TensorExtensionMethods.ToDouble(Tensor)", unheld);

        var offenders = new List<string>();
        foreach (var m in Methods(typeof(TorchRuntime).Assembly))
        {
            if (m.DeclaringType == typeof(Engine.Common.Scalars)) continue; // the ring that holds them
            var calls = Calls(m).ToList();
            foreach (var c in calls.Where(c => unheld.Contains(Key(c))))
                offenders.Add($"{m.DeclaringType!.FullName}.{m.Name} calls {Key(c)}");
            // a static constructor's Scalars go into static fields (alive for the process); `using var s` disposes
            // through IDisposable, so a Scalar local plus a Dispose call counts as held
            var disposesLocal = calls.Any(c => c.Name == "Dispose") &&
                                m.GetMethodBody()!.LocalVariables.Any(l => l.LocalType == typeof(Scalar));
            if (calls.Any(IsScalarConversion) && !calls.Any(IsScalarDispose) && !disposesLocal && m.Name != ".cctor")
                offenders.Add($"{m.DeclaringType!.FullName}.{m.Name} converts a number to a Scalar and never disposes it");
        }
        Assert.True(offenders.Count == 0, string.Join("\n", offenders.Distinct()));
    }

    [Fact]
    public void No_test_reads_a_tensor_value_through_a_scalar_the_GC_may_free()
    {
        // CI run of bce9c9f: the test host crashed in c10::Scalar::toFloat under a test's t.sum().ToSingle(); tests
        // read values with ItemDouble / ItemInt64, which hold the Scalar until it has been read
        var unheldReads = Methods(typeof(Tensor).Assembly)
            .Where(m => m.Name.StartsWith("To", StringComparison.Ordinal) && m.GetParameters() is [{ } p] &&
                        p.ParameterType == typeof(Tensor) && m is MethodInfo { ReturnType.IsPrimitive: true } && MakesScalarWithoutDisposing(m))
            .Select(Key).ToHashSet();
        Assert.Contains("TorchSharp.TensorExtensionMethods.ToDouble(Tensor)", unheldReads); // the scan sees what it must
        var offenders = Methods(typeof(UnheldScalarTests).Assembly)
            .SelectMany(m => Calls(m).Where(c => unheldReads.Contains(Key(c))).Select(c => $"{m.DeclaringType!.FullName}.{m.Name} calls {Key(c)}"))
            .Distinct().ToList();
        Assert.True(offenders.Count == 0, string.Join("\n", offenders));
    }

    /// <summary>Every method of <paramref name="assembly"/> that makes a Scalar and never disposes it, and every method
    /// that calls one of those (a Scalar freed inside a callee is as freed): the transitive closure over its calls.</summary>
    private static HashSet<string> UnheldClosure(Assembly assembly)
    {
        var methods = Methods(assembly).Where(m => !IsConversion(m)).ToList();
        // overloads that differ only in generic arguments share a key: their calls are pooled
        var calls = methods.GroupBy(Key, StringComparer.Ordinal).ToDictionary(g => g.Key,
            g => g.SelectMany(m => Calls(m).Where(c => c.DeclaringType?.Assembly == assembly)).Select(Key).Distinct().ToList(),
            StringComparer.Ordinal);
        var unheld = methods.Where(MakesScalarWithoutDisposing).Select(Key).ToHashSet();
        for (var grew = true; grew;)
        {
            grew = false;
            foreach (var (key, callees) in calls)
                if (!unheld.Contains(key) && callees.Any(unheld.Contains)) grew = unheld.Add(key) | true;
        }
        return unheld;
    }

    private static bool IsConversion(MethodBase m) => m.Name is "op_Implicit" or "ToScalar";

    private static bool IsScalarConversion(MethodBase c) =>
        (c.DeclaringType == typeof(Scalar) && c.Name == "op_Implicit") || (c.Name == "ToScalar" && c.DeclaringType != typeof(Engine.Common.Scalars));

    private static bool IsScalarDispose(MethodBase c) => c.DeclaringType == typeof(Scalar) && c.Name == "Dispose";

    private static bool MakesScalarWithoutDisposing(MethodBase m)
    {
        var calls = Calls(m).ToList();
        return calls.Any(IsScalarConversion) && !calls.Any(IsScalarDispose);
    }

}
