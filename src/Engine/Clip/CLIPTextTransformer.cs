using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Clip;

/// <summary>
/// transformers' CLIPTextTransformer: embeddings, causal encoder, final_layer_norm, and pooling at the EOS position.
/// Pooling is transformers 4.31+'s rule (PR #24773): with eos_token_id == 2 (the value configs written before that PR
/// carry, SD-XL's among them) the EOS position is the argmax of the input ids (the end-of-text token is
/// the largest id of CLIP's vocabulary; ties go to the first); otherwise it is the first position holding
/// eos_token_id. (Recent transformers test "every row's max id is 49407" instead of "eos_token_id == 2"; the two
/// agree on ids from CLIP's tokenizer and 49408-token vocabulary.)
/// </summary>
public sealed class CLIPTextTransformer : Module<Tensor, CLIPTextModelOutput>
{
    public readonly CLIPTextEmbeddings embeddings;
    public readonly CLIPEncoder encoder;
    public readonly LayerNorm final_layer_norm;

    public CLIPTextTransformer(CLIPTextConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(CLIPTextTransformer))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        this.config = config;
        embeddings = new CLIPTextEmbeddings(config, device: device, dtype: dtype);
        encoder = new CLIPEncoder(config, device: device, dtype: dtype);
        final_layer_norm = LayerNorm(config.HiddenSize, config.LayerNormEps, device: device, dtype: dtype);
        RegisterComponents();
    }

    public CLIPTextConfig config { get; }

    /// <summary>input_ids [batch, seq] (or any shape ending in seq; flattened to [-1, seq] as transformers does),
    /// int64, on any device (moved to the weights' device).</summary>
    public override CLIPTextModelOutput forward(Tensor input_ids)
    {
        ArgumentNullException.ThrowIfNull(input_ids);
        using var scope = torch.NewDisposeScope();
        var device = final_layer_norm.weight?.device ?? embeddings.token_embedding.weight!.device;
        var ids = input_ids.reshape(-1, input_ids.size(-1)).to(device);
        var states = encoder.call(embeddings.call(ids));
        var last = final_layer_norm.call(states[^1]);
        var pooled = PoolAtEos(last, ids);
        foreach (var s in states) s.MoveToOuterDisposeScope();
        return new CLIPTextModelOutput(last.MoveToOuterDisposeScope(), pooled.MoveToOuterDisposeScope(), states);
    }

    /// <summary>The EOS position of each sequence of <paramref name="input_ids"/> [batch, seq] → [batch] (int64).</summary>
    public Tensor EosPositions(Tensor input_ids)
    {
        ArgumentNullException.ThrowIfNull(input_ids);
        if (config.EosTokenId == 2) return input_ids.argmax(-1);
        using var scope = torch.NewDisposeScope();
        return input_ids.eq(Sc(config.EosTokenId)).to(ScalarType.Int32).argmax(-1).MoveToOuterDisposeScope();
    }

    /// <summary>hidden [batch, seq, hidden] at each sequence's EOS position → [batch, hidden].</summary>
    private Tensor PoolAtEos(Tensor hidden, Tensor input_ids)
    {
        using var scope = torch.NewDisposeScope();
        long batch = hidden.size(0), width = hidden.size(2);
        var index = EosPositions(input_ids).view(batch, 1, 1).expand(batch, 1, width);
        return hidden.gather(1, index).squeeze(1).MoveToOuterDisposeScope();
    }
}
