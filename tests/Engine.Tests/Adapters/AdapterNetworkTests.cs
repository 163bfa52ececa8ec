using TLoRA.Engine.Adapters;
using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Tests.Adapters;

public class AdapterNetworkTests
{
    private static readonly AdapterSpec TLoRA4 = new(AdapterMethod.TLoRA, 4, 2);

    [Fact]
    public void Attaching_names_parameters_like_the_official_processors()
    {
        using var model = new ToyModel();
        using var net = AdapterNetwork.Attach(model, TLoRA4, new Generator(1));
        var keys = net.StateDict().Keys.ToList();
        Assert.Contains("blocks.0.processor.to_q_lora.q_layer.weight", keys);
        Assert.Contains("blocks.1.processor.to_out_lora.base_lambda", keys);
        Assert.Equal(2 * 4 * 6, keys.Count);
        // trainable: q, p, λ of each projection; the base copies are frozen
        Assert.Equal(2 * 4 * 3, net.TrainableParameters.Count);
        Assert.Contains("blocks.0.processor.to_v_lora.p_layer.weight", model.state_dict().Keys);
        // capped rank: inner width 8 ≥ 4, so every layer has rank 4
        Assert.All(net.Layers, l => Assert.All(l.Processor.Layers.Values, x => Assert.Equal(4, ((OrthogonalLoRALinearLayer)x).rank)));
    }

    [Fact]
    public void Zero_delta_at_init_then_training_changes_only_the_adapters()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new ToyModel();
        model.requires_grad_(false);
        var x = torch.randn([2, 3, 16], generator: new Generator(2));
        var plain = model.call(x);
        using var net = AdapterNetwork.Attach(model, TLoRA4, new Generator(3));
        net.SetTimesteps([300, 300]);
        Assert.Equal(plain.ToArray<float>(), model.call(x).ToArray<float>()); // the delta is exactly zero
        var loss = model.call(x).pow(2).mean();
        loss.backward();
        Assert.All(net.TrainableParameters, p => Assert.NotNull(p.grad));
        Assert.Null(model.blocks[0].to_q.weight.grad);
        Assert.All(net.Layers, l => Assert.Null(((OrthogonalLoRALinearLayer)l.Processor.Layers["to_q"]).base_q.weight.grad));
    }

    [Fact]
    public void Save_and_load_round_trip_with_metadata_and_spec()
    {
        using var dir = new TempDir();
        using var scope = torch.NewDisposeScope();
        using var model = new ToyModel();
        var spec = new AdapterSpec(AdapterMethod.VanillaTLoRA, 4, 1, 0.5);
        var path = dir.File("adapter.safetensors");
        var x = torch.randn([1, 3, 16], generator: new Generator(4));
        Tensor expected;
        using (var net = AdapterNetwork.Attach(model, spec, new Generator(5)))
        {
            using (torch.no_grad())
                foreach (var p in net.TrainableParameters) p.normal_(0, 0.1, new Generator(6));
            net.SetTimesteps([100]);
            expected = model.call(x);
            net.Save(path, new AdapterMetadata("sdxl-tiny", "sks", "dog", 10, 42));
        }
        Assert.Null(model.blocks[0].processor);
        using var file = ShardedCheckpoint.Open(path);
        Assert.Equal(spec with { Projections = AdapterSpec.AttentionProjections }, AdapterFile.ReadSpec(file));
        Assert.Equal(new AdapterMetadata("sdxl-tiny", "sks", "dog", 10, 42), AdapterMetadata.From(file.Metadata));
        using var loaded = AdapterFile.Load(model, path);
        loaded.SetTimesteps([100]);
        Assert.True((model.call(x) - expected).abs().amax().ItemDouble() < 1e-6);
    }

    /// <summary>Loading an adapter (sampling, inspecting) overwrites every weight, so T-LoRA's initialisation, an SVD per
    /// projection that takes minutes on a whole SD-XL adapter, is skipped there; training still initialises.</summary>
    [Fact]
    public void Loading_a_tlora_file_skips_the_initialisation_and_restores_every_tensor_exactly()
    {
        using var dir = new TempDir();
        using var scope = torch.NewDisposeScope();
        using var model = new ToyModel();
        var path = dir.File("adapter.safetensors");
        var x = torch.randn([1, 3, 16], generator: new Generator(4));
        Dictionary<string, float[]> saved;
        Tensor expected;
        var svds = OrthogonalLoRALinearLayer.SvdInitialisations;
        using (var net = AdapterNetwork.Attach(model, TLoRA4, new Generator(5)))
        {
            var projections = net.Layers.Sum(l => l.Processor.Layers.Count);
            Assert.Equal(svds + projections, OrthogonalLoRALinearLayer.SvdInitialisations); // training initialises each
            using (torch.no_grad())
                foreach (var p in net.TrainableParameters) p.add_(torch.randn(p.shape, generator: new Generator(6)) * 0.1);
            net.SetTimesteps([100]);
            expected = model.call(x);
            saved = net.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray<float>());
            net.Save(path, new AdapterMetadata());
        }

        svds = OrthogonalLoRALinearLayer.SvdInitialisations;
        using (var loaded = AdapterFile.Load(model, path))
        {
            Assert.Equal(saved.Keys.Order(), loaded.StateDict().Keys.Order());
            foreach (var (key, t) in loaded.StateDict()) Assert.Equal(saved[key], t.ToArray<float>());
            loaded.SetTimesteps([100]);
            Assert.Equal(expected.ToArray<float>(), model.call(x).ToArray<float>());
        }
        var processors = AdapterFile.ReadProcessors(path);
        try
        {
            foreach (var (attention, processor) in processors)
                foreach (var (key, t) in processor.state_dict())
                    Assert.Equal(saved[$"{attention}.processor.{key}"], t.ToArray<float>());
        }
        finally
        {
            foreach (var (_, p) in processors) p.Dispose();
        }
        Assert.Equal(svds, OrthogonalLoRALinearLayer.SvdInitialisations);
    }

    [Fact]
    public void Official_fixture_adapters_are_recognised_from_their_keys()
    {
        using var t = ShardedCheckpoint.Open(Path.Combine(FixturePaths.SdxlTiny, "reference_tlora_adapter.safetensors"));
        var (rank, minRank) = ReferenceOutputs.AdapterRanks;
        var spec = AdapterFile.ReadSpec(t, defaultMinRank: minRank);
        Assert.Equal(AdapterMethod.TLoRA, spec.Method);
        Assert.Equal(rank, spec.Rank);
        Assert.Equal(minRank, spec.MinRank);
        Assert.Equal(AdapterSpec.AttentionProjections, spec.TargetProjections);
        using var v = ShardedCheckpoint.Open(Path.Combine(FixturePaths.SdxlTiny, "reference_vanilla_tlora_adapter.safetensors"));
        Assert.Equal(AdapterMethod.VanillaTLoRA, AdapterFile.ReadSpec(v).Method);
    }

    [Fact]
    public void Loading_a_mismatched_adapter_names_the_keys()
    {
        using var dir = new TempDir();
        using var scope = torch.NewDisposeScope();
        using var model = new ToyModel();
        var path = dir.File("a.safetensors");
        using (var net = AdapterNetwork.Attach(model, TLoRA4, new Generator(1)))
        {
            var sd = net.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
            sd.Remove("blocks.1.processor.to_k_lora.p_layer.weight");
            sd["blocks.9.processor.to_k_lora.p_layer.weight"] = torch.zeros(8, 4);
            SafetensorsWriter.Save(path, sd);
        }
        var ex = Assert.Throws<StateDictException>(() => AdapterFile.Load(model, path));
        Assert.Equal(["blocks.1.processor.to_k_lora.p_layer.weight"], ex.Missing);
        Assert.Equal(["blocks.9.processor.to_k_lora.p_layer.weight"], ex.Unexpected);
        Assert.Null(model.blocks[1].processor); // a failed load leaves the model as it was
    }

    [Fact]
    public void Plain_lora_ignores_the_timestep_and_scale_multiplies_the_delta()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new ToyModel();
        using var net = AdapterNetwork.Attach(model, new AdapterSpec(AdapterMethod.LoRA, 4, 4), new Generator(1));
        using (torch.no_grad())
            foreach (var p in net.TrainableParameters) p.normal_(0, 0.2, new Generator(2));
        var x = torch.randn([1, 2, 16], generator: new Generator(3));
        net.SetTimesteps([999]);
        Assert.Null(net.Mask.Current);
        var full = ((ToyAttention)model.blocks[0]);
        var d1 = full.processor!.Delta("to_q", x)!;
        net.Scale = 0.5;
        Assert.True((full.processor.Delta("to_q", x)! - d1 * 0.5).abs().amax().ItemDouble() < 1e-6);
    }

    [Theory]
    [InlineData(AdapterMethod.LoRA)]
    [InlineData(AdapterMethod.VanillaTLoRA)]
    [InlineData(AdapterMethod.TLoRA)]
    public void No_native_tensor_outlives_the_network_and_model(AdapterMethod method)
    {
        var baseline = LiveTensors.Count;
        using (var model = new ToyModel())
        using (var net = AdapterNetwork.Attach(model, TLoRA4 with { Method = method }, new Generator(1)))
        {
            net.SetTimesteps([10]);
            using var scope = torch.NewDisposeScope();
            model.call(torch.randn([1, 2, 16])).sum().backward();
            foreach (var p in net.TrainableParameters) p.grad = null;
        }
        Assert.Equal(baseline, LiveTensors.Count);
    }
}

public class AdapterNetworkRankTests
{
    [Fact]
    public void A_rank_no_projection_can_hold_is_refused_naming_the_limit()
    {
        using var model = new ToyModel(16, 8);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => AdapterNetwork.Attach(model, new AdapterSpec(AdapterMethod.TLoRA, 9, 4)));
        Assert.Contains("rank 9 exceeds every adapted projection's dims (the largest allows 8)", ex.Message);
        Assert.Null(model.blocks[0].processor);
    }
}
