using System.Text.Json;
using TLoRA.Engine.Adapters;
using TLoRA.Engine.Flux;
using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;
using R = TLoRA.Engine.Tests.FluxReferenceOutputs;

namespace TLoRA.Engine.Tests.Flux;

/// <summary>The adapter seam of <see cref="FluxAttention"/>: which projections go through it, and the fixture's Vanilla
/// T-LoRA adapter (delta = up(down(x) · mask) on to_q/to_k/to_v everywhere, add_*_proj and to_out.0 in the double-stream
/// blocks) attached through it reproduces the official code's outputs and gradients (vanilla.*).</summary>
public sealed class FluxAdapterSeamTests(FluxTransformerFixture fixture, ITestOutputHelper output) : IClassFixture<FluxTransformerFixture>
{
    private static readonly string[] FluxProjections = ["to_q", "to_k", "to_v", "to_out", "add_q_proj", "add_k_proj", "add_v_proj"];

    private FluxTransformer2DModel Model => fixture.Model;

    /// <summary>Records every projection routed through the seam.</summary>
    private sealed class RecordingAdapter() : AttentionAdapter(nameof(RecordingAdapter))
    {
        public List<(string Name, long[] InputShape)> Calls { get; } = new();

        public override Tensor? Delta(string projection, Tensor input)
        {
            Calls.Add((projection, input.shape));
            return null;
        }
    }

    [Fact]
    public void Every_adaptable_projection_goes_through_the_seam()
    {
        var double0 = Model.transformer_blocks[0].attn;
        var single0 = Model.single_transformer_blocks[0].attn;
        var inner = Model.config.InnerDim;
        Assert.Equal(FluxProjections.Order(), double0.AdaptableProjections.Keys.Order());
        Assert.Equal(["to_k", "to_q", "to_v"], single0.AdaptableProjections.Keys.Order());
        Assert.All(double0.AdaptableProjections.Values.Concat(single0.AdaptableProjections.Values), d => Assert.Equal((inner, inner), d));

        var (a, b) = (new RecordingAdapter(), new RecordingAdapter());
        try
        {
            double0.SetAdapter(new RecordingAdapter()); // replaced below: the previous one is unregistered
            double0.SetAdapter(a);
            single0.SetAdapter(b);
            Assert.Same(a, double0.named_children().Single(c => c.name == "processor").module);
            using var scope = torch.NewDisposeScope();
            Model.forward(R.Read("transformer.hidden_states"), R.Read("transformer.encoder_hidden_states"),
                R.Read("transformer.pooled_projections"), R.Read("transformer.timestep_0"), R.Read("transformer.img_ids"),
                R.Read("transformer.txt_ids"), R.Read("transformer.guidance"));
        }
        finally
        {
            double0.SetAdapter(null);
            single0.SetAdapter(null);
        }
        Assert.Null(double0.processor);
        Assert.DoesNotContain(Model.named_modules(), m => m.name.EndsWith(".processor", StringComparison.Ordinal));
        var (tokens, text) = (R.Read("transformer.hidden_states").size(1), R.Read("transformer.encoder_hidden_states").size(1));
        Assert.Equal(["to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj", "to_out"], a.Calls.Select(c => c.Name));
        Assert.Equal([1, tokens, inner], a.Calls.Single(c => c.Name == "to_out").InputShape);
        Assert.Equal([1, text, inner], a.Calls.Single(c => c.Name == "add_q_proj").InputShape);
        Assert.Equal(["to_q", "to_k", "to_v"], b.Calls.Select(c => c.Name));
        Assert.Equal([1, text + tokens, inner], b.Calls[0].InputShape);
    }

    [Fact]
    public void Reference_vanilla_adapter_reproduces_outputs_loss_and_gradients()
    {
        using var file = ShardedCheckpoint.Open(Path.Combine(FixturePaths.FluxTiny, "reference_vanilla_tlora_adapter.safetensors"));
        var rank = (int)file.Entry(file.Names.First(n => n.EndsWith(".down.weight", StringComparison.Ordinal))).Shape[0];
        Model.requires_grad_(false);
        // Min rank and schedule do not matter here: the test sets the reference's masks itself.
        var network = AdapterNetwork.Attach(Model, new AdapterSpec(AdapterMethod.VanillaTLoRA, rank, 1, Schedule: RankScheduleKind.Linear,
            Projections: FluxProjections));
        try
        {
            var own = network.StateDict();
            // The official code also builds the single blocks' to_out/add_* adapters, which their forward never uses.
            var unused = file.Names.Where(n => !own.ContainsKey(n)).Order(StringComparer.Ordinal);
            Assert.Equal(UnusedReferenceParameters().Order(StringComparer.Ordinal), unused);
            using (torch.no_grad())
                foreach (var (key, t) in own)
                    using (var src = file.Read(key)) t.copy_(src);

            using var scope = torch.NewDisposeScope();
            Tensor Predict() => Model.forward(R.Read("vanilla.packed_noisy_model_input"), R.Read("vanilla.encoder_hidden_states"),
                R.Read("vanilla.pooled_projections"), R.Read("vanilla.timestep_in"), R.Read("vanilla.img_ids"), R.Read("vanilla.txt_ids"),
                R.Read("vanilla.guidance"));
            network.SetMask(null);
            using (torch.no_grad()) output.WriteLine(Parity.AssertClose(R.Read("vanilla.out_nomask"), Predict(), "vanilla.out_nomask").ToString());

            network.SetMask(R.Read("vanilla.mask"));
            var prediction = Predict();
            output.WriteLine(Parity.AssertClose(R.Read("vanilla.out"), prediction, "vanilla.out").ToString());
            var maskEffect = Parity.Measure(R.Read("vanilla.out_nomask"), prediction, "mask effect");
            Assert.True(maskEffect.MaxAbsError > 100 * (1e-4 * maskEffect.MaxAbsExpected + 1e-5), $"the adapter barely matters: {maskEffect}");
            var loss = torch.nn.functional.mse_loss(prediction, Pack(R.Read("vanilla.target")));
            output.WriteLine(Parity.AssertClose(R.Read("vanilla.loss").reshape(), loss, "vanilla.loss").ToString());
            loss.backward();
            var worst = new ParityError("none", 0, 1);
            foreach (var (key, p) in own)
            {
                Assert.True(p.grad is not null, $"{key} has no gradient");
                var e = Parity.AssertClose(R.Read($"vanilla.grad.{key}"), p.grad!, $"vanilla.grad.{key}", rel: 1e-3, abs: 0);
                if (e.Relative > worst.Relative) worst = e;
            }
            output.WriteLine($"worst of {own.Count} gradients: {worst}");
            Assert.All(Model.named_parameters().Where(p => !p.name.Contains(".processor.", StringComparison.Ordinal)), p => Assert.Null(p.parameter.grad));
        }
        finally
        {
            network.Dispose();
            Model.requires_grad_(true);
        }
    }

    [Fact]
    public void Test_packing_matches_the_pipelines()
    {
        using var scope = torch.NewDisposeScope();
        Parity.AssertClose(R.Read("pack.packed"), Pack(R.Read("pack.latents")), "pack.packed", rel: 0, abs: 0);
    }

    /// <summary>FluxPipeline._pack_latents: (B, C, H, W) → (B, H/2 · W/2, C · 4), 2×2 patches.</summary>
    private static Tensor Pack(Tensor latents)
    {
        var (b, c, h, w) = (latents.size(0), latents.size(1), latents.size(2), latents.size(3));
        return latents.view(b, c, h / 2, 2, w / 2, 2).permute(0, 2, 4, 1, 3, 5).reshape(b, h / 2 * (w / 2), c * 4);
    }

    private static IEnumerable<string> UnusedReferenceParameters()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixturePaths.FluxTiny, "reference_cases.json")));
        return doc.RootElement.GetProperty("train").GetProperty("params_without_grad").EnumerateArray().Select(e => e.GetString()!).ToList();
    }
}
