using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Clip;

/// <summary>
/// transformers' CLIPTextEmbeddings: token embedding plus learned position embedding. transformers keeps the position
/// ids (arange(max_position_embeddings)) as a non-persistent buffer; here they are made per call on the weights'
/// device (TorchSharp's modules neither move nor dispose non-persistent buffers), so they are in no checkpoint, state
/// dict or buffer list.
/// </summary>
public sealed class CLIPTextEmbeddings : Module<Tensor, Tensor>
{
    public readonly Embedding token_embedding;
    public readonly Embedding position_embedding;

    /// <summary>Older transformers exports saved the position_ids buffer; it is ignored on load as transformers does.</summary>
    public static readonly IReadOnlyCollection<string> IgnoredCheckpointKeys = ["text_model.embeddings.position_ids"];

    public CLIPTextEmbeddings(CLIPTextConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(CLIPTextEmbeddings))
    {
        ArgumentNullException.ThrowIfNull(config);
        token_embedding = Embedding(config.VocabSize, config.HiddenSize, device: device, dtype: dtype);
        position_embedding = Embedding(config.MaxPositionEmbeddings, config.HiddenSize, device: device, dtype: dtype);
        register_module(nameof(token_embedding), token_embedding);
        register_module(nameof(position_embedding), position_embedding);
    }

    /// <summary>Number of positions the position embedding has.</summary>
    public long max_position_embeddings => position_embedding.weight!.size(0);

    /// <summary>input_ids [batch, seq] (int64) → embeddings [batch, seq, hidden].</summary>
    /// <exception cref="ArgumentException">The sequence is longer than max_position_embeddings.</exception>
    public override Tensor forward(Tensor input_ids)
    {
        ArgumentNullException.ThrowIfNull(input_ids);
        var seq = input_ids.size(-1);
        if (seq > max_position_embeddings)
            throw new ArgumentException($"sequence length {seq} is longer than max_position_embeddings {max_position_embeddings}", nameof(input_ids));
        using var scope = torch.NewDisposeScope();
        var positions = torch.arange(Sc(0L), Sc(seq), Sc(1L), ScalarType.Int64, position_embedding.weight!.device).unsqueeze(0);
        var embeddings = token_embedding.call(input_ids).Plus(position_embedding.call(positions));
        return embeddings.MoveToOuterDisposeScope();
    }
}
