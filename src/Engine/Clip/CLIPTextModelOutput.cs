using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Clip;

/// <summary>
/// What the CLIP text models return (transformers' BaseModelOutputWithPooling with output_hidden_states=True, and
/// CLIPTextModelOutput's text_embeds for the projection model). The tensors are fresh and owned by this object:
/// dispose it, or take the ones to keep with <see cref="Tensor.MoveToOuterDisposeScope"/> / a dispose scope.
/// </summary>
/// <param name="last_hidden_state">Final-layer-normed output [batch, seq, hidden].</param>
/// <param name="pooler_output">last_hidden_state at the EOS position of each sequence [batch, hidden].</param>
/// <param name="hidden_states">Embeddings output, then each encoder layer's output (not final-layer-normed):
/// num_hidden_layers + 1 tensors [batch, seq, hidden]. SD-XL takes hidden_states[^2] (the penultimate layer).</param>
/// <param name="text_embeds">text_projection(pooler_output) [batch, projection_dim] for
/// <see cref="CLIPTextModelWithProjection"/>; null for <see cref="CLIPTextModel"/>.</param>
public sealed record CLIPTextModelOutput(Tensor last_hidden_state, Tensor pooler_output, IReadOnlyList<Tensor> hidden_states,
    Tensor? text_embeds = null) : IDisposable
{
    /// <summary>Disposes every tensor of the output.</summary>
    public void Dispose()
    {
        last_hidden_state.Dispose();
        pooler_output.Dispose();
        text_embeds?.Dispose();
        foreach (var h in hidden_states) h.Dispose();
    }
}
