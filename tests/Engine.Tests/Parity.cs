using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests;

/// <summary>How far a result is from its reference: max |a − b|, max |b| and their ratio.</summary>
public sealed record ParityError(string Name, double MaxAbsError, double MaxAbsExpected)
{
    /// <summary>max |a − b| / max |b| (the max error itself when the reference is all zeros).</summary>
    public double Relative => MaxAbsExpected > 0 ? MaxAbsError / MaxAbsExpected : MaxAbsError;

    public override string ToString() =>
        $"{Name}: max |a - b| = {MaxAbsError:G4}, max |b| = {MaxAbsExpected:G4}, relative {Relative:G4}";
}

/// <summary>Parity assertions against reference tensors (tests/fixtures/README.md, "Comparing").</summary>
public static class Parity
{
    /// <summary>Measures max |actual − expected| (in float64 on the CPU) without asserting; shapes must match.</summary>
    public static ParityError Measure(Tensor expected, Tensor actual, string name = "tensor")
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        Assert.True(expected.shape.SequenceEqual(actual.shape),
            $"{name}: shape [{string.Join(", ", actual.shape)}] differs from the reference's [{string.Join(", ", expected.shape)}]");
        if (expected.numel() == 0) return new ParityError(name, 0, 0);
        using var scope = torch.NewDisposeScope();
        var b = expected.to(ScalarType.Float64, torch.CPU);
        var a = actual.to(ScalarType.Float64, torch.CPU);
        var error = (a - b).abs().amax().ItemDouble();
        if (a.isnan().logical_or(b.isnan()).sum().ItemDouble() != 0) error = double.NaN;
        return new ParityError(name, error, b.abs().amax().ItemDouble());
    }

    /// <summary>Asserts max |actual − expected| ≤ rel · max |expected| + abs (NaN anywhere fails), naming the tensor
    /// and the error in the failure message; returns the measured error.</summary>
    public static ParityError AssertClose(Tensor expected, Tensor actual, string name = "tensor", double rel = 1e-4, double abs = 1e-5)
    {
        var e = Measure(expected, actual, name);
        var bound = rel * e.MaxAbsExpected + abs;
        Assert.True(e.MaxAbsError <= bound, $"{e} exceeds the bound {bound:G4} (rel {rel:G3}, abs {abs:G3})");
        return e;
    }
}
