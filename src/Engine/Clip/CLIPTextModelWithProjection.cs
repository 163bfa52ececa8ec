using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Clip;

/// <summary>transformers' CLIPTextModelWithProjection (SD-XL's text_encoder_2): the text tower plus
/// <c>text_projection</c>, a bias-free hidden_size → projection_dim Linear; text_embeds = text_projection(pooled).</summary>
public sealed class CLIPTextModelWithProjection : Module<Tensor, CLIPTextModelOutput>
{
    public readonly CLIPTextTransformer text_model;
    public readonly Linear text_projection;

    public CLIPTextModelWithProjection(CLIPTextConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(CLIPTextModelWithProjection))
    {
        ArgumentNullException.ThrowIfNull(config);
        text_model = new CLIPTextTransformer(config, device: device, dtype: dtype);
        text_projection = Linear(config.HiddenSize, config.ProjectionDim, hasBias: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    public CLIPTextConfig config => text_model.config;

    /// <summary>input_ids [batch, seq] → text_embeds [batch, projection_dim], last_hidden_state, pooler_output (before
    /// projection) and every hidden state.</summary>
    public override CLIPTextModelOutput forward(Tensor input_ids)
    {
        var output = text_model.call(input_ids);
        try
        {
            return output with { text_embeds = text_projection.call(output.pooler_output) };
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>Reads <c>config.json</c> and the weights of a component folder (e.g. <c>text_encoder_2/</c>) strictly:
    /// a missing, unexpected or mis-shaped key fails with a <see cref="StateDictException"/> naming it. The model is
    /// returned in eval mode, in <paramref name="dtype"/> on <paramref name="device"/> (CPU by default).</summary>
    public static CLIPTextModelWithProjection Load(string componentFolder, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var model = CheckpointLoader.BuildAndLoad<CLIPTextConfig, CLIPTextModelWithProjection>(componentFolder, (c, d) => new(c, device: d, dtype: dtype), device, CLIPTextEmbeddings.IgnoredCheckpointKeys);
        model.eval();
        return model;
    }
}
