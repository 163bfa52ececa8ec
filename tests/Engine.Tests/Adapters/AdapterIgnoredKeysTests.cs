using TLoRA.Engine.Adapters;
using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Tests.Adapters;

/// <summary>Official FLUX files carry adapters for projections some attentions lack (the single-stream blocks'
/// to_out_lora and to_*_proj_lora): loading skips exactly those and reports them; every other mismatch still fails.</summary>
public class AdapterIgnoredKeysTests
{
    private static readonly AdapterSpec Vanilla = new(AdapterMethod.VanillaTLoRA, 4, 2);

    /// <summary>Writes the toy model's own adapter plus <paramref name="extra"/> keys ([4, 16] zeros unless given).</summary>
    private static string Write(TempDir dir, ToyModel model, IEnumerable<string> extra, Action<Dictionary<string, Tensor>>? edit = null)
    {
        var path = dir.File("a.safetensors");
        using var scope = torch.NewDisposeScope();
        using var net = AdapterNetwork.Attach(model, Vanilla, new Generator(1));
        var sd = net.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var k in extra) sd[k] = torch.zeros(4, 16);
        edit?.Invoke(sd);
        SafetensorsWriter.Save(path, sd);
        return path;
    }

    [Fact]
    public void Keys_for_a_projection_the_attention_lacks_are_ignored_and_reported()
    {
        using var dir = new TempDir();
        using var model = new ToyModel();
        string[] absent = ["blocks.0.processor.to_q_proj_lora.down.weight", "blocks.1.processor.to_v_proj_lora.up.weight"];
        var path = Write(dir, model, absent);
        using var net = AdapterFile.Load(model, path);
        Assert.Equal(absent, net.IgnoredKeys);
        Assert.Equal(2 * 4 * 2, net.StateDict().Count);
    }

    [Theory]
    [InlineData("blocks.9.processor.to_q_proj_lora.down.weight")] // no such attention
    [InlineData("blocks.0.processor.to_x_lora.down.weight")] // no such adapter key
    [InlineData("blocks.0.to_q_proj_lora.down.weight")] // not an adapter processor key
    public void Other_unexpected_keys_still_fail(string key)
    {
        using var dir = new TempDir();
        using var model = new ToyModel();
        var path = Write(dir, model, [key]);
        var ex = Assert.Throws<StateDictException>(() => AdapterFile.Load(model, path));
        Assert.Equal([key], ex.Unexpected);
        Assert.Null(model.blocks[0].processor);
    }

    [Fact]
    public void Missing_and_misshaped_keys_still_fail_beside_ignorable_ones()
    {
        using var dir = new TempDir();
        using var model = new ToyModel();
        var path = Write(dir, model, ["blocks.0.processor.to_k_proj_lora.down.weight"], sd =>
        {
            sd.Remove("blocks.1.processor.to_q_lora.up.weight");
            sd["blocks.0.processor.to_k_lora.down.weight"] = torch.zeros(3, 16);
        });
        var ex = Assert.Throws<StateDictException>(() => AdapterFile.Load(model, path));
        Assert.Equal(["blocks.1.processor.to_q_lora.up.weight"], ex.Missing);
        Assert.Empty(ex.Unexpected);
        Assert.Single(ex.Misshaped);
    }
}
