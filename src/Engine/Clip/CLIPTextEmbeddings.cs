using TLoRA.Torch;
using TLoRA.Torch.Modules;

namespace TLoRA.Engine.Clip;

/// <summary>
/// transformers' CLIPTextEmbeddings: token embedding plus learned position embedding. <c>position_ids</c>
/// (arange(max_position_embeddings) as [1, max]) is a non-persistent buffer, as in transformers: it is not in
/// checkpoints and not in the state dict.
/// </summary>
public sealed class CLIPTextEmbeddings : Module<Tensor, Tensor>
{
    public readonly Embedding token_embedding;
    public readonly Embedding position_embedding;
    private readonly Tensor position_ids;

    /// <summary>Older transformers exports saved the position_ids buffer; it is ignored on load as transformers does.</summary>
    public static readonly IReadOnlyCollection<string> IgnoredCheckpointKeys = ["text_model.embeddings.position_ids"];

    public CLIPTextEmbeddings(CLIPTextConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        token_embedding = new Embedding(config.VocabSize, config.HiddenSize, dtype, device);
        position_embedding = new Embedding(config.MaxPositionEmbeddings, config.HiddenSize, dtype, device);
        using (var scope = torch.NewDisposeScope())
            position_ids = torch.arange(config.MaxPositionEmbeddings, ScalarType.Int64, device)
                .view(1, config.MaxPositionEmbeddings).contiguous().DetachFromDisposeScope();
        register_module(nameof(token_embedding), token_embedding);
        register_module(nameof(position_embedding), position_embedding);
        register_buffer(nameof(position_ids), position_ids, persistent: false);
    }

    /// <summary>Number of positions the position embedding has.</summary>
    public long max_position_embeddings => position_embedding.weight.size(0);

    /// <summary>input_ids [batch, seq] (int64) → embeddings [batch, seq, hidden].</summary>
    /// <exception cref="ArgumentException">The sequence is longer than max_position_embeddings.</exception>
    public override Tensor forward(Tensor input_ids)
    {
        ArgumentNullException.ThrowIfNull(input_ids);
        var seq = input_ids.size(-1);
        if (seq > max_position_embeddings)
            throw new ArgumentException($"sequence length {seq} is longer than max_position_embeddings {max_position_embeddings}", nameof(input_ids));
        using var scope = torch.NewDisposeScope();
        var positions = position_ids.slice(1, 0, seq);
        var embeddings = token_embedding.call(input_ids) + position_embedding.call(positions);
        return embeddings.MoveToOuterDisposeScope();
    }
}
