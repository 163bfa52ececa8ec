using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.T5;

/// <summary>
/// transformers' T5Stack as an encoder: token embedding, num_layers <see cref="T5Block"/>s (only block 0 has a
/// relative_attention_bias; the position bias it computes is passed to every later block), final_layer_norm. Dropout
/// is identity in eval mode. No attention mask: FLUX calls its T5 encoder without one (every position, padding
/// included, attends everywhere).
/// </summary>
public sealed class T5Stack : Module<Tensor, T5EncoderModelOutput>
{
    /// <summary>The token embedding, tied to <see cref="T5EncoderModel.shared"/>: the same module, so it is not part of
    /// this stack's state dict (checkpoints store it once, as "shared.weight") and this stack does not dispose it.</summary>
    public readonly Embedding embed_tokens;
    public readonly ModuleList<T5Block> block;
    public readonly T5LayerNorm final_layer_norm;
    public readonly Dropout dropout;

    public T5Stack(T5Config config, Embedding embed_tokens, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(T5Stack))
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(embed_tokens);
        this.embed_tokens = embed_tokens;
        block = new ModuleList<T5Block>(Enumerable.Range(0, config.NumLayers).Select(i => new T5Block(config, has_relative_attention_bias: i == 0, device: device, dtype: dtype)).ToArray());
        final_layer_norm = new T5LayerNorm(config.DModel, config.LayerNormEpsilon, device: device, dtype: dtype);
        dropout = Dropout(config.DropoutRate);
        RegisterComponents();
        register_module(nameof(embed_tokens), null!); // null unregisters; // tied weight: owned and saved by the model as "shared"
    }

    /// <summary>input_ids [batch, seq] → last_hidden_state only.</summary>
    public override T5EncoderModelOutput forward(Tensor input_ids) => forward(input_ids, output_hidden_states: false);

    /// <summary>input_ids [batch, seq] (or any shape ending in seq; flattened to [-1, seq] as transformers does), int64,
    /// on any device (moved to the weights' device) → last_hidden_state, and with <paramref name="output_hidden_states"/>
    /// the embeddings, every block's output and the shared position bias.</summary>
    public T5EncoderModelOutput forward(Tensor input_ids, bool output_hidden_states)
    {
        ArgumentNullException.ThrowIfNull(input_ids);
        using var scope = torch.NewDisposeScope();
        var ids = input_ids.reshape(-1, input_ids.size(-1)).to(embed_tokens.weight!.device);
        var h = dropout.call(embed_tokens.call(ids));
        var states = output_hidden_states ? new List<Tensor> { h } : null;
        Tensor? position_bias = null;
        foreach (var b in block)
        {
            (h, position_bias) = b.forward(h, position_bias);
            states?.Add(h);
        }
        var last = dropout.call(final_layer_norm.call(h)).MoveToOuterDisposeScope();
        if (!output_hidden_states) return new T5EncoderModelOutput(last);
        foreach (var s in states!) s.MoveToOuterDisposeScope();
        return new T5EncoderModelOutput(last, states, position_bias!.MoveToOuterDisposeScope());
    }
}
