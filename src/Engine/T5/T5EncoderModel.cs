using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.T5;

/// <summary>
/// transformers' T5EncoderModel (FLUX's text_encoder_2, T5 v1.1 XXL): <c>shared</c>, the token embedding, and
/// <c>encoder</c>, a <see cref="T5Stack"/> whose embed_tokens is that same embedding. State-dict keys read
/// "shared.weight", "encoder.block.0.layer.0.SelfAttention.q.weight", "encoder.final_layer_norm.weight".
/// </summary>
public sealed class T5EncoderModel : Module<Tensor, T5EncoderModelOutput>
{
    public readonly Embedding shared;
    public readonly T5Stack encoder;

    /// <summary>Keys a checkpoint may hold that the model deliberately lacks: "encoder.embed_tokens.weight" is the tied
    /// copy of "shared.weight" (transformers' _tied_weights_keys; save_pretrained drops it, older exports kept it).
    /// When present it is ignored and "shared.weight" is used.</summary>
    public static readonly IReadOnlyCollection<string> IgnoredCheckpointKeys = ["encoder.embed_tokens.weight"];

    public T5EncoderModel(T5Config config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(T5EncoderModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        this.config = config;
        shared = Embedding(config.VocabSize, config.DModel, device: device, dtype: dtype);
        encoder = new T5Stack(config, shared, device: device, dtype: dtype);
        RegisterComponents();
    }

    public T5Config config { get; }

    /// <summary>input_ids [batch, seq] (int64) → last_hidden_state [batch, seq, d_model].</summary>
    public override T5EncoderModelOutput forward(Tensor input_ids) => encoder.forward(input_ids, output_hidden_states: false);

    /// <summary>As <see cref="forward(Tensor)"/>, with the embeddings, every block's output and the position bias when
    /// <paramref name="output_hidden_states"/> is set.</summary>
    public T5EncoderModelOutput forward(Tensor input_ids, bool output_hidden_states) => encoder.forward(input_ids, output_hidden_states);

    /// <summary>Reads <c>config.json</c> and the weights of a component folder (e.g. <c>text_encoder_2/</c>; a single
    /// <c>model.safetensors</c> or shards with a <c>model.safetensors.index.json</c>) strictly: a missing, unexpected
    /// or mis-shaped key fails with a <see cref="StateDictException"/> naming it (only <see cref="IgnoredCheckpointKeys"/>
    /// are tolerated). The model is returned in eval mode, in <paramref name="dtype"/> on <paramref name="device"/>
    /// (CPU by default).</summary>
    public static T5EncoderModel Load(string componentFolder, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var model = CheckpointLoader.BuildAndLoad<T5Config, T5EncoderModel>(componentFolder, (c, d) => new(c, device: d, dtype: dtype), device, IgnoredCheckpointKeys);
        model.eval();
        return model;
    }
}
