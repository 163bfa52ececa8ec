using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Clip;

/// <summary>transformers' CLIPTextModel: the text tower without projection (SD-XL's text_encoder, FLUX's CLIP-L).
/// State-dict keys read "text_model.encoder.layers.0.self_attn.q_proj.weight".</summary>
public sealed class CLIPTextModel : Module<Tensor, CLIPTextModelOutput>
{
    public readonly CLIPTextTransformer text_model;

    public CLIPTextModel(CLIPTextConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(CLIPTextModel))
    {
        text_model = new CLIPTextTransformer(config, device: device, dtype: dtype);
        RegisterComponents();
    }

    public CLIPTextConfig config => text_model.config;

    /// <summary>input_ids [batch, seq] → last_hidden_state, pooler_output and every hidden state (text_embeds null).</summary>
    public override CLIPTextModelOutput forward(Tensor input_ids) => text_model.call(input_ids);

    /// <summary>Reads <c>config.json</c> and the weights of a component folder (e.g. <c>text_encoder/</c>) strictly: a
    /// missing, unexpected or mis-shaped key fails with a <see cref="StateDictException"/> naming it. The model is
    /// returned in eval mode, in <paramref name="dtype"/> on <paramref name="device"/> (CPU by default).</summary>
    public static CLIPTextModel Load(string componentFolder, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var model = CheckpointLoader.BuildAndLoad<CLIPTextConfig, CLIPTextModel>(componentFolder, (c, d) => new(c, device: d, dtype: dtype), device, CLIPTextEmbeddings.IgnoredCheckpointKeys);
        model.eval();
        return model;
    }
}
