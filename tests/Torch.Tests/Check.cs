namespace TLoRA.Torch.Tests;

/// <summary>Assertions on tensor values.</summary>
internal static class Check
{
    public static void Close(IReadOnlyList<double> expected, Tensor actual, double tol = 1e-5)
    {
        var a = actual.ToArray<double>();
        Assert.Equal(expected.Count, a.Length);
        for (var i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(a[i] - expected[i]) <= tol * (1 + Math.Abs(expected[i])),
                $"element {i}: expected {expected[i]}, got {a[i]} (tensor {actual})");
    }

    public static void Close(Tensor expected, Tensor actual, double tol = 1e-5)
    {
        Assert.Equal(expected.shape, actual.shape);
        Close(expected.ToArray<double>(), actual, tol);
    }

    public static void Shape(Tensor t, params long[] shape) => Assert.Equal(shape, t.shape);

    public static Tensor T(double[] values, params long[] shape) => torch.tensor(values.Select(v => (float)v).ToArray(), shape);
}

/// <summary>Asserts that native tensors created inside are all freed.</summary>
internal sealed class NoLeak : IDisposable
{
    private readonly long baseline;

    public NoLeak()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        baseline = torch.live_tensor_count;
    }

    public void Dispose()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(baseline, torch.live_tensor_count);
    }
}
