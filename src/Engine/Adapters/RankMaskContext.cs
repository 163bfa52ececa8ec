using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Adapters;

/// <summary>
/// The rank mask in force for the current model call, shared by every adapter layer of a model (the official code
/// passes it through cross_attention_kwargs). Null means all ranks. Set it before each forward; it is owned here.
/// </summary>
public sealed class RankMaskContext : IDisposable
{
    private Tensor? mask;

    public Tensor? Current => mask;

    /// <summary>Replaces the mask (taking ownership of <paramref name="value"/>); null lifts it.</summary>
    public void Set(Tensor? value)
    {
        mask?.Dispose();
        mask = value?.DetachFromDisposeScope();
    }

    public void Dispose() => Set(null);
}
