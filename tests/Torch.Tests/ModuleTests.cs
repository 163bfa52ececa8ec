using TLoRA.Torch.Modules;
using static TLoRA.Torch.Tests.Check;

namespace TLoRA.Torch.Tests;

public class ModuleTests
{
    private sealed class Block : Module<Tensor, Tensor>
    {
        public readonly Linear proj;
        public readonly GroupNorm norm;
        public readonly ModuleList<Linear> to_out;
        public readonly Tensor running;
        public readonly Parameter scale;

        public Block()
        {
            proj = new Linear(4, 8);
            norm = new GroupNorm(2, 8);
            to_out = new ModuleList<Linear>(new Linear(8, 4, hasBias: false), new Linear(4, 4));
            running = torch.zeros(3);
            scale = new Parameter(torch.ones(1));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = torch.NewDisposeScope();
            var h = norm.call(proj.call(x).unsqueeze(-1)).squeeze(-1);
            return (to_out[1].call(to_out[0].call(h)) * scale).MoveToOuterDisposeScope();
        }
    }

    private static readonly string[] BlockKeys =
    [
        "scale", "running", "proj.weight", "proj.bias", "norm.weight", "norm.bias", "to_out.0.weight", "to_out.1.weight",
        "to_out.1.bias",
    ];

    [Fact]
    public void Names_follow_pytorch_state_dict_keys()
    {
        using var m = new Block();
        Assert.Equal(BlockKeys, m.state_dict().Keys);
        Assert.Equal(["proj", "norm", "to_out"], m.named_children().Select(c => c.name));
        Assert.Contains(m.named_modules(), x => x.name == "to_out.1");
        Assert.Equal(8, m.parameters().Count());
        Assert.Equal(["running"], m.named_buffers().Select(b => b.name));
        Check.Shape(m.proj.weight, 8, 4);
        Assert.True(m.parameters().All(p => p.requires_grad));
    }

    [Fact]
    public void State_dict_round_trips_and_forward_agrees()
    {
        using var scope = torch.NewDisposeScope();
        using var a = new Block();
        using var b = new Block();
        var x = torch.randn([2, 4], new Generator(1));
        b.load_state_dict(a.state_dict());
        Close(a.call(x), b.call(x), 1e-6);
        Check.Shape(a.call(x), 2, 4);
    }

    [Fact]
    public void Strict_loading_names_every_bad_key_and_copies_nothing()
    {
        using var scope = torch.NewDisposeScope();
        using var m = new Block();
        var before = m.proj.bias!.ToArray<float>();
        var sd = m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        sd.Remove("norm.bias");
        sd["extra.weight"] = torch.zeros(1);
        sd["proj.weight"] = torch.zeros(4, 4);
        sd["proj.bias"] = torch.full([8], 5);
        var ex = Assert.Throws<StateDictException>(() => m.load_state_dict(sd));
        Assert.Equal(["norm.bias"], ex.Missing);
        Assert.Equal(["extra.weight"], ex.Unexpected);
        Assert.Single(ex.Misshaped);
        Assert.Contains("proj.weight: expected [8, 4], got [4, 4]", ex.Message);
        Assert.Equal(before, m.proj.bias!.ToArray<float>());
        sd["proj.weight"] = torch.zeros(8, 4);
        var r = m.load_state_dict(sd, strict: false);
        Assert.Equal(["norm.bias"], r.missing_keys);
        Assert.All(m.proj.bias!.ToArray<float>(), v => Assert.Equal(5f, v));
    }

    [Fact]
    public void Train_eval_requires_grad_and_dtype_moves_keep_the_objects()
    {
        using var m = new Block();
        m.eval();
        Assert.All(m.named_modules(), x => Assert.False(x.module.training));
        m.train();
        Assert.True(m.to_out[0].training);
        m.requires_grad_(false);
        Assert.All(m.parameters(), p => Assert.False(p.requires_grad));
        m.to_out.requires_grad_(true);
        Assert.True(m.to_out[1].weight.requires_grad);
        var weight = m.to_out[1].weight;
        m.to(ScalarType.BFloat16);
        Assert.Same(weight, m.to_out[1].weight);
        Assert.Equal(ScalarType.BFloat16, weight.dtype);
        Assert.True(weight.requires_grad);
        Assert.True(weight.is_leaf);
        Assert.False(m.proj.weight.requires_grad);
        Assert.Equal(ScalarType.BFloat16, m.running.dtype);
        m.to(Device.CPU, ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, weight.dtype);
    }

    [Fact]
    public void Disposing_a_module_frees_every_tensor()
    {
        using var leak = new NoLeak();
        var m = new Block();
        using (var scope = torch.NewDisposeScope()) m.call(torch.ones(1, 4)).sum().backward();
        foreach (var p in m.parameters()) p.grad = null;
        m.Dispose();
    }

    [Fact]
    public void Layers_compute_what_their_functional_form_does()
    {
        using var scope = torch.NewDisposeScope();
        using var conv = new Conv2d(2, 4, 3, padding: 1);
        var x = torch.randn([1, 2, 5, 5], new Generator(2));
        Close(torch.nn.functional.conv2d(x, conv.weight, conv.bias, 1, 1), conv.call(x));
        Check.Shape(conv.weight, 4, 2, 3, 3);
        var bound = 1 / Math.Sqrt(2 * 9);
        Assert.All(conv.weight.ToArray<float>(), v => Assert.InRange(v, -bound, bound));
        using var ln = new LayerNorm(5);
        Close(torch.nn.functional.layer_norm(x, [5]), ln.call(x));
        using var emb = new Embedding(10, 3);
        Check.Shape(emb.call(torch.tensor(new long[] { 1, 2 })), 2, 3);
        Assert.Throws<ArgumentException>(() => new GroupNorm(3, 8));
    }
}
