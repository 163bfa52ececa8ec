using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.T5;

/// <summary>
/// What <see cref="T5EncoderModel"/> returns. The tensors are fresh and owned by this object: dispose it, or take the ones
/// to keep with <see cref="Tensor.MoveToOuterDisposeScope"/> / a dispose scope.
/// </summary>
/// <param name="last_hidden_state">The final-layer-normed output [batch, seq, d_model] (what FLUX uses).</param>
/// <param name="hidden_states">With output_hidden_states only: the embeddings, then each block's output (num_layers + 1
/// tensors, none final-normed). Unlike transformers' tuple, whose last entry is last_hidden_state, the last block's own
/// output is kept.</param>
/// <param name="position_bias">With output_hidden_states only: the position bias every block added to its scores
/// [1, num_heads, seq, seq].</param>
public sealed record T5EncoderModelOutput(Tensor last_hidden_state, IReadOnlyList<Tensor>? hidden_states = null, Tensor? position_bias = null)
    : IDisposable
{
    /// <summary>Disposes every tensor of the output.</summary>
    public void Dispose()
    {
        last_hidden_state.Dispose();
        position_bias?.Dispose();
        if (hidden_states is not null)
            foreach (var h in hidden_states) h.Dispose();
    }
}
