using TLoRA.Engine.Adapters;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Tests.Adapters;

/// <summary>A minimal attention with the adapter seam, so adapter tests need no UNet.</summary>
internal sealed class ToyAttention : Module<Tensor, Tensor>, IAdaptableAttention
{
    public readonly Linear to_q;
    public readonly Linear to_k;
    public readonly Linear to_v;
    public readonly ModuleList<Linear> to_out;

    public ToyAttention(long dim, long inner) : base(nameof(ToyAttention))
    {
        to_q = Linear(dim, inner, hasBias: false);
        to_k = Linear(dim, inner, hasBias: false);
        to_v = Linear(dim, inner, hasBias: false);
        to_out = new ModuleList<Linear>(Linear(inner, dim));
        RegisterComponents();
    }

    public AttentionAdapter? processor { get; private set; }

    public IReadOnlyDictionary<string, (long In, long Out)> AdaptableProjections => new Dictionary<string, (long, long)>
    {
        ["to_q"] = (to_q.in_features, to_q.out_features), ["to_k"] = (to_k.in_features, to_k.out_features),
        ["to_v"] = (to_v.in_features, to_v.out_features), ["to_out"] = (to_out[0].in_features, to_out[0].out_features),
    };

    public void SetAdapter(AttentionAdapter? adapter)
    {
        if (processor is not null) register_module("processor", null!); // null unregisters
        processor = adapter;
        if (adapter is not null) register_module("processor", adapter);
    }

    private Tensor Project(Linear layer, string name, Tensor x)
    {
        var y = layer.call(x);
        return processor?.Delta(name, x) is { } d ? y + d : y;
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var q = Project(to_q, "to_q", x);
        var k = Project(to_k, "to_k", x);
        var v = Project(to_v, "to_v", x);
        var a = torch.nn.functional.scaled_dot_product_attention(q, k, v);
        return Project(to_out[0], "to_out", a).MoveToOuterDisposeScope();
    }
}

/// <summary>Two toy attentions in named blocks, like a UNet's paths.</summary>
internal sealed class ToyModel : Module<Tensor, Tensor>
{
    public readonly ModuleList<ToyAttention> blocks;

    public ToyModel(long dim = 16, long inner = 8) : base(nameof(ToyModel))
    {
        blocks = new ModuleList<ToyAttention>(new ToyAttention(dim, inner), new ToyAttention(dim, inner));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        return blocks[1].call(blocks[0].call(x)).MoveToOuterDisposeScope();
    }
}
