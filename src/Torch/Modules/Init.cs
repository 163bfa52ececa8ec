namespace TLoRA.Torch.Modules;

/// <summary>Parameter initialisation shared by the layers.</summary>
internal static class Init
{
    /// <summary>PyTorch's default for Linear/Conv: kaiming_uniform(a=√5) for weights and U(±1/√fan_in) for biases, which
    /// are both U(±1/√fan_in).</summary>
    internal static Parameter Uniform(long[] shape, long fanIn, ScalarType dtype, Device? device)
    {
        var bound = fanIn > 0 ? 1.0 / Math.Sqrt(fanIn) : 0;
        var t = torch.empty(shape, dtype, device);
        using (torch.no_grad()) t.uniform_(-bound, bound);
        return new Parameter(t);
    }

    internal static Parameter Constant(long[] shape, double value, ScalarType dtype, Device? device) =>
        new(torch.full(shape, value, dtype, device));
}
