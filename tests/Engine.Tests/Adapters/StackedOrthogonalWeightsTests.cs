using TLoRA.Engine.Adapters;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Adapters;

/// <summary>Inside one model call (<see cref="AdapterNetwork.BeginCall"/>) T-LoRA's projections take their stacked
/// weights from batched stacks; the output and every gradient are those of the per-projection weights, bit for bit.</summary>
public sealed class StackedOrthogonalWeightsTests
{
    private static readonly AdapterSpec Spec = new(AdapterMethod.TLoRA, Rank: 4, MinRank: 2);

    [Theory]
    [InlineData(999.0)] // the schedule's smallest rank: the first k components only
    [InlineData(0.0)] // every component
    public void A_call_takes_every_projection_from_the_stacks_with_the_same_output_and_gradients(double t)
    {
        using var scope = torch.NewDisposeScope();
        using var toy = new Toy();
        var (model, network, x) = (toy.Model, toy.Network, toy.X);

        network.SetTimesteps([t]); // no call scope: per projection
        var plain = model.call(x);
        var plainGrads = Gradients(network, plain);

        Tensor stacked;
        using (network.BeginCall([t]))
        {
            stacked = model.call(x);
            Assert.Equal(Projections(network), network.Mask.Stacked!.Taken);
        }
        var stackedGrads = Gradients(network, stacked);

        Assert.Equal(plain.ToArray<float>(), stacked.ToArray<float>());
        Assert.Equal(plainGrads.Count, stackedGrads.Count);
        for (var i = 0; i < plainGrads.Count; i++) Assert.Equal(plainGrads[i].ToArray<float>(), stackedGrads[i].ToArray<float>());
    }

    [Fact]
    public void A_second_forward_in_one_call_and_a_forward_after_it_compute_their_own_weights()
    {
        using var scope = torch.NewDisposeScope();
        using var toy = new Toy();
        var (model, network, x) = (toy.Model, toy.Network, toy.X);
        Tensor first, second;
        using (network.BeginCall([500.0]))
        {
            first = model.call(x);
            second = model.call(x);
            Assert.Equal(Projections(network), network.Mask.Stacked!.Taken); // once each, not twice
        }
        Assert.Equal(first.ToArray<float>(), second.ToArray<float>());
        using (torch.no_grad())
            foreach (var p in network.TrainableParameters) p.add_(torch.ones_like(p)); // an optimiser step between calls
        var after = model.call(x); // outside any call: the new weights, never the stacks of the call that ended
        Assert.Equal(0, network.Mask.Stacked!.Taken - Projections(network)); // nothing more was taken
        Assert.NotEqual(first.ToArray<float>(), after.ToArray<float>());
    }

    /// <summary>Sampling (and a checkpointed block's first pass) runs without autograd: there the stacks only cost, so
    /// nothing is taken from them, and a forward with autograd later in the same call still gets weights with a graph.</summary>
    [Fact]
    public void Forwards_without_autograd_compute_their_own_weights_and_leave_the_stacks_to_forwards_with_it()
    {
        using var scope = torch.NewDisposeScope();
        using var toy = new Toy();
        var (model, network, x) = (toy.Model, toy.Network, toy.X);
        network.SetTimesteps([500.0]);
        var plain = model.call(x);
        var plainGrads = Gradients(network, plain);

        Tensor inference, trained;
        using (network.BeginCall([500.0]))
        {
            using (torch.no_grad()) inference = model.call(x);
            Assert.Equal(0, network.Mask.Stacked!.Taken);
            trained = model.call(x);
            Assert.Equal(Projections(network), network.Mask.Stacked!.Taken);
        }
        var trainedGrads = Gradients(network, trained);
        Assert.Equal(plain.ToArray<float>(), inference.ToArray<float>());
        Assert.Equal(plain.ToArray<float>(), trained.ToArray<float>());
        Assert.Equal(plainGrads.Count, trainedGrads.Count);
        for (var i = 0; i < plainGrads.Count; i++) Assert.Equal(plainGrads[i].ToArray<float>(), trainedGrads[i].ToArray<float>());
    }

    /// <summary>A toy model with two projection shapes (two groups), T-LoRA attached, trained weights off their
    /// initialisation, and an input.</summary>
    private sealed class Toy : IDisposable
    {
        public Toy()
        {
            Model.requires_grad_(false);
            Network = AdapterNetwork.Attach(Model, Spec, new Generator(3));
            Perturb(Network);
        }

        public ToyModel Model { get; } = new();
        public AdapterNetwork Network { get; }
        public Tensor X { get; } = torch.randn([2, 3, 16], generator: new Generator(4));

        public void Dispose()
        {
            Network.Dispose();
            Model.Dispose();
        }
    }

    private static int Projections(AdapterNetwork network) =>
        network.Layers.Sum(l => l.Processor.Layers.Values.OfType<OrthogonalLoRALinearLayer>().Count());

    private static void Perturb(AdapterNetwork network)
    {
        using var noGrad = torch.no_grad();
        var generator = new Generator(5);
        foreach (var p in network.TrainableParameters) p.add_(torch.randn(p.shape, generator: generator) * 0.1);
    }

    private static List<Tensor> Gradients(AdapterNetwork network, Tensor output)
    {
        output.square().mean().backward();
        var grads = network.TrainableParameters.Select(p => p.grad!.clone()).ToList();
        foreach (var p in network.TrainableParameters) p.grad = null;
        return grads;
    }
}
