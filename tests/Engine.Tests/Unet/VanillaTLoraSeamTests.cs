using TLoRA.Engine;
using TLoRA.Engine.Adapters;
using TLoRA.Engine.IO;
using TLoRA.Engine.Unet;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using Xunit.Abstractions;

namespace TLoRA.Engine.Tests.Unet;

/// <summary>End-to-end check of the attention seam against the fixture's Vanilla T-LoRA training step: the reference
/// adapters (delta = up(down(x) · mask) on to_q, to_k, to_v and to_out.0 of every attention) attached through
/// <see cref="TLoRA.Engine.Common.Attention.SetAdapter"/> give diffusers' output, loss and gradients.</summary>
public sealed class VanillaTLoraSeamTests(SdxlUnetFixture fixture, ITestOutputHelper output) : IClassFixture<SdxlUnetFixture>
{
    private sealed class MaskedLora : Module<Tensor, Tensor>
    {
        public readonly Linear down;
        public readonly Linear up;
        private readonly Func<Tensor> mask; // not a Tensor field: RegisterComponents would make it a buffer

        public MaskedLora(Linear layer, Tensor mask, long rank) : base(nameof(MaskedLora))
        {
            down = Linear(layer.in_features, rank, hasBias: false);
            up = Linear(rank, layer.out_features, hasBias: false);
            this.mask = () => mask;
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            return up.call(down.call(input) * mask()).MoveToOuterDisposeScope();
        }
    }

    private sealed class VanillaAdapter : AttentionAdapter
    {
        public readonly MaskedLora to_q_lora;
        public readonly MaskedLora to_k_lora;
        public readonly MaskedLora to_v_lora;
        public readonly MaskedLora to_out_lora;

        public VanillaAdapter(TLoRA.Engine.Common.Attention a, Tensor mask, long rank) : base(nameof(VanillaAdapter))
        {
            to_q_lora = new MaskedLora(a.to_q, mask, rank);
            to_k_lora = new MaskedLora(a.to_k, mask, rank);
            to_v_lora = new MaskedLora(a.to_v, mask, rank);
            to_out_lora = new MaskedLora((Linear)a.to_out[0], mask, rank);
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

    [Fact]
    public void Reference_vanilla_adapters_reproduce_output_loss_and_gradients()
    {
        var unet = fixture.Model;
        using var mask = ReferenceOutputs.Read("vanilla.mask");
        var rank = mask.size(1);
        var adapters = unet.attention_layers().Select(a => (a.name, a.attention, adapter: new VanillaAdapter(a.attention, mask, rank))).ToList();
        unet.requires_grad_(false);
        try
        {
            foreach (var (_, attention, adapter) in adapters) attention.SetAdapter(adapter);
            var trainable = unet.named_parameters().Where(p => p.name.Contains(".processor.", StringComparison.Ordinal)).ToList();
            Assert.Equal(unet.state_dict().Count, unet.named_parameters().Count()); // the adapters add parameters only
            using (var checkpoint = ShardedCheckpoint.Open(Path.Combine(FixturePaths.SdxlTiny, "reference_vanilla_tlora_adapter.safetensors")))
            using (var scope = torch.NewDisposeScope())
            {
                Assert.Equal(checkpoint.Names.Order(StringComparer.Ordinal), trainable.Select(p => p.name).Order(StringComparer.Ordinal));
                using var noGrad = torch.no_grad();
                foreach (var (name, p) in trainable) p.copy_(checkpoint.Read(name));
            }

            using var scope2 = torch.NewDisposeScope();
            var prediction = unet.forward(ReferenceOutputs.Read("vanilla.noisy"), ReferenceOutputs.Read("vanilla.t"),
                ReferenceOutputs.Read("text.prompt_embeds"), ReferenceOutputs.Read("text.pooled"), ReferenceOutputs.Read("unet.time_ids"));
            var expected = ReferenceOutputs.Read("vanilla.out");
            output.WriteLine($"vanilla.out: max relative error {ReferenceOutputs.RelativeError(expected, prediction):E3}");
            Parity.AssertClose(expected, prediction, "vanilla.out");

            var loss = torch.nn.functional.mse_loss(prediction, ReferenceOutputs.Read("vanilla.noise"));
            Parity.AssertClose(ReferenceOutputs.Read("vanilla.loss").reshape(), loss, "vanilla.loss");
            OneDnn.Backward(loss);
            var worst = 0.0;
            foreach (var (name, p) in trainable)
            {
                var reference = ReferenceOutputs.Read($"vanilla.grad.{name}");
                Assert.True(p.grad is not null, $"{name} has no gradient");
                worst = Math.Max(worst, ReferenceOutputs.RelativeError(reference, p.grad!));
                Parity.AssertClose(reference, p.grad!, $"vanilla.grad.{name}", rel: 1e-3, abs: 0);
            }
            output.WriteLine($"vanilla.grad.*: worst max relative error {worst:E3} over {trainable.Count} tensors");
        }
        finally
        {
            foreach (var (_, attention, adapter) in adapters)
            {
                attention.SetAdapter(null);
                adapter.Dispose();
            }
            unet.requires_grad_(true);
        }
    }
}
