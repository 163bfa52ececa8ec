using TLoRA.Engine.Adapters;
using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Tests.Common;

/// <summary>Adds a constant vector to one projection's output (a fresh alias each call, owned by the caller's scope).</summary>
internal sealed class ConstantAdapter(string target, Tensor value) : AttentionAdapter(nameof(ConstantAdapter))
{
    public List<(string Name, long[] InputShape)> Calls { get; } = new();

    public override Tensor? Delta(string projection, Tensor input)
    {
        Calls.Add((projection, input.shape));
        return projection == target ? value.alias() : null;
    }
}

/// <summary>Never changes anything.</summary>
internal sealed class NullAdapter() : AttentionAdapter(nameof(NullAdapter))
{
    public override Tensor? Delta(string projection, Tensor input) => null;
}

/// <summary>A low-rank pair p(q(x)) named like the official T-LoRA layers.</summary>
internal sealed class LoraPair : Module<Tensor, Tensor>
{
    public readonly Linear q_layer;
    public readonly Linear p_layer;

    public LoraPair(long inFeatures, long outFeatures, long rank) : base(nameof(LoraPair))
    {
        q_layer = Linear(inFeatures, rank, hasBias: false);
        p_layer = Linear(rank, outFeatures, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        return p_layer.call(q_layer.call(input)).MoveToOuterDisposeScope();
    }
}

/// <summary>LoRA on all four projections of one attention, with T-LoRA's key names.</summary>
internal sealed class LoraAdapter : AttentionAdapter
{
    public readonly LoraPair to_q_lora;
    public readonly LoraPair to_k_lora;
    public readonly LoraPair to_v_lora;
    public readonly LoraPair to_out_lora;

    public LoraAdapter(Attention attention, long rank) : base(nameof(LoraAdapter))
    {
        var output = (Linear)attention.to_out[0];
        to_q_lora = new LoraPair(attention.to_q.in_features, attention.to_q.out_features, rank);
        to_k_lora = new LoraPair(attention.to_k.in_features, attention.to_k.out_features, rank);
        to_v_lora = new LoraPair(attention.to_v.in_features, attention.to_v.out_features, rank);
        to_out_lora = new LoraPair(output.in_features, output.out_features, rank);
        RegisterComponents();
    }

    public override Tensor? Delta(string projection, Tensor input) => projection switch
    {
        "to_q" => to_q_lora.call(input),
        "to_k" => to_k_lora.call(input),
        "to_v" => to_v_lora.call(input),
        "to_out" => to_out_lora.call(input),
        _ => null,
    };
}
