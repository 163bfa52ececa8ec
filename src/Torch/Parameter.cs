namespace TLoRA.Torch;

/// <summary>A leaf tensor a module trains (requires_grad by default). It takes ownership of the tensor it is made
/// from and is never owned by a dispose scope: its module disposes it.</summary>
public sealed class Parameter : Tensor
{
    public Parameter(Tensor data, bool requires_grad = true) : base(Leaf(data))
    {
        this.requires_grad = requires_grad;
    }

    private static Tensor Leaf(Tensor data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.is_leaf && data is not Parameter) return data;
        var detached = data.detach();
        if (data is not Parameter) data.Dispose();
        return detached;
    }
}
