using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Adapters;

/// <summary>
/// The attention-processor seam: a module attached to an attention layer (registered as its "processor", so adapter
/// keys read "...attn1.processor.to_q_lora.q_layer.weight" like the official T-LoRA code) that adds a trainable delta
/// to the frozen projections' outputs. Frozen weights and the attention math stay in the model classes.
/// </summary>
public abstract class AttentionAdapter : Module
{
    /// <summary>Names the module for TorchSharp.</summary>
    protected AttentionAdapter(string name) : base(name) { }

    /// <summary>The delta to add to projection <paramref name="projection"/>'s output for <paramref name="input"/>, or
    /// null when this adapter leaves that projection alone. Projection names: "to_q", "to_k", "to_v", "to_out"
    /// (to_out.0), and for FLUX's joint attention "add_q_proj", "add_k_proj", "add_v_proj".</summary>
    public abstract Tensor? Delta(string projection, Tensor input);
}
