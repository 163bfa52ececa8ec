using TLoRA.Engine.Adapters;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Adapters;

/// <summary>T-LoRA's SVD initialisations run several at once; the weights must stay those of initialising the layers
/// one by one with the job's generator, in the order they were made.</summary>
public sealed class OrthogonalInitialisationTests
{
    // shapes (in, out, rank) that differ, so a draw taken out of order gives other numbers or another shape
    private static readonly (long In, long Out, int Rank)[] Shapes = [(16, 8, 4), (8, 16, 4), (24, 12, 3), (12, 24, 5), (16, 16, 2), (9, 20, 4)];

    [Theory]
    [InlineData(1, InitComponents.Last, 0)]
    [InlineData(2, InitComponents.Last, 0)]
    [InlineData(4, InitComponents.Middle, 0)]
    [InlineData(16, InitComponents.Principal, 0)]
    [InlineData(2, InitComponents.Last, 200)] // the small shapes on this thread, the larger ones on workers
    public void Any_number_of_workers_gives_the_weights_of_one_by_one_construction(int workers, InitComponents init, long parallelFrom)
    {
        var baseline = LiveTensors.Count;
        var expected = new List<OrthogonalLoRALinearLayer>();
        var actual = new List<OrthogonalLoRALinearLayer>();
        try
        {
            var one = new Generator(11);
            foreach (var (i, o, r) in Shapes) expected.Add(new OrthogonalLoRALinearLayer(i, o, r, init, one));
            foreach (var (i, o, r) in Shapes) actual.Add(OrthogonalLoRALinearLayer.ForLoading(i, o, r));
            OrthogonalInitialisation.Run(actual, init, new Generator(11), workers, parallelFromElements: parallelFrom);
            for (var n = 0; n < Shapes.Length; n++) AssertSameWeights(expected[n], actual[n]);
        }
        finally
        {
            foreach (var l in expected.Concat(actual)) l.Dispose();
        }
        Assert.Equal(baseline, LiveTensors.Count); // the random matrices and every SVD's tensors were freed
    }

    /// <summary>An SVD's last bits depend on how many intra-op threads run it (here 20 × 9 and 24 × 12 already differ
    /// between 1, 2 and 3), and a thread libtorch has not set up runs LAPACK with OpenMP's and MKL's defaults (the
    /// core count), not with the process's setting. So the workers must take the calling thread's count: with the
    /// caller at one more thread than the machine has cores, neither a fresh thread's default nor a stale thread's 1
    /// gives its numbers.</summary>
    [Fact]
    public void Workers_decompose_with_the_calling_threads_intra_op_thread_count()
    {
        var before = torch.get_num_threads();
        torch.set_num_threads(Environment.ProcessorCount + 1);
        try
        {
            Any_number_of_workers_gives_the_weights_of_one_by_one_construction(2, InitComponents.Last, 0);
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }

    /// <summary>A service shows how far a large model's initialisation is: (0, n) first, then every layer once, in order,
    /// on the calling thread, whichever thread decomposed it.</summary>
    [Theory]
    [InlineData(1, 0)]
    [InlineData(3, 0)]
    [InlineData(2, 200)]
    public void Progress_counts_every_layer_in_order_on_the_calling_thread(int workers, long parallelFrom)
    {
        var layers = Shapes.Select(s => OrthogonalLoRALinearLayer.ForLoading(s.In, s.Out, s.Rank)).ToList();
        var reports = new List<(InitialisationProgress Progress, int Thread)>();
        try
        {
            OrthogonalInitialisation.Run(layers, InitComponents.Last, new Generator(3), workers, parallelFromElements: parallelFrom,
                progress: new SyncProgress<InitialisationProgress>(p => reports.Add((p, Environment.CurrentManagedThreadId))));
        }
        finally
        {
            foreach (var l in layers) l.Dispose();
        }
        Assert.Equal(Enumerable.Range(0, layers.Count + 1).Select(d => new InitialisationProgress(d, layers.Count)), reports.Select(r => r.Progress));
        Assert.All(reports, r => Assert.Equal(Environment.CurrentManagedThreadId, r.Thread));
    }

    [Fact]
    public void A_failing_svd_surfaces_its_error_and_frees_every_random_matrix()
    {
        var baseline = LiveTensors.Count;
        var layers = Shapes.Select(s => OrthogonalLoRALinearLayer.ForLoading(s.In, s.Out, s.Rank)).ToList();
        try
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => OrthogonalInitialisation.Run(layers, (InitComponents)99, new Generator(1), 3, parallelFromElements: 0));
        }
        finally
        {
            foreach (var l in layers) l.Dispose();
        }
        Assert.Equal(baseline, LiveTensors.Count);
    }

    /// <summary>The initialisation of a large model takes minutes: a cancelled job must not wait for it.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void A_cancelled_initialisation_stops_before_the_next_layer_and_frees_everything(int workers)
    {
        var baseline = LiveTensors.Count;
        var layers = Shapes.Select(s => OrthogonalLoRALinearLayer.ForLoading(s.In, s.Out, s.Rank)).ToList();
        var draws = OrthogonalLoRALinearLayer.SvdInitialisations;
        try
        {
            Assert.Throws<OperationCanceledException>(() =>
                OrthogonalInitialisation.Run(layers, InitComponents.Last, new Generator(1), workers, new CancellationToken(canceled: true), 0));
        }
        finally
        {
            foreach (var l in layers) l.Dispose();
        }
        Assert.Equal(draws, OrthogonalLoRALinearLayer.SvdInitialisations); // not one random matrix drawn
        Assert.Equal(baseline, LiveTensors.Count);
    }

    [Fact]
    public void A_cancelled_attach_leaves_the_model_without_adapters()
    {
        var baseline = LiveTensors.Count;
        using (var model = new ToyModel())
        {
            Assert.Throws<OperationCanceledException>(() =>
                AdapterNetwork.Attach(model, new AdapterSpec(AdapterMethod.TLoRA, 4, 2), new Generator(5), cancellation: new CancellationToken(canceled: true)));
            Assert.All(model.blocks, b => Assert.Null(b.processor));
        }
        Assert.Equal(baseline, LiveTensors.Count);
    }

    /// <summary>Attach draws in the order it makes the layers (attention by attention, the spec's projections in the
    /// spec's order), not in the adapter keys' order.</summary>
    [Fact]
    public void Attach_initialises_in_the_order_it_makes_the_layers()
    {
        using var model = new ToyModel();
        var spec = new AdapterSpec(AdapterMethod.TLoRA, 4, 2, Projections: ["to_out", "to_v", "to_q", "to_k"]);
        using var network = AdapterNetwork.Attach(model, spec, new Generator(5));
        var one = new Generator(5);
        foreach (var (_, attention, processor) in network.Layers)
            foreach (var name in spec.TargetProjections)
            {
                var (i, o) = attention.AdaptableProjections[name];
                using var expected = new OrthogonalLoRALinearLayer(i, o, spec.Rank, spec.Init, one);
                AssertSameWeights(expected, (OrthogonalLoRALinearLayer)processor.Layers[name]);
            }
    }

    private static void AssertSameWeights(OrthogonalLoRALinearLayer expected, OrthogonalLoRALinearLayer actual)
    {
        var e = expected.state_dict();
        var a = actual.state_dict();
        Assert.Equal(e.Keys, a.Keys);
        foreach (var (key, t) in e)
        {
            Assert.Equal(t.shape, a[key].shape);
            Assert.Equal(t.ToArray<float>(), a[key].ToArray<float>());
        }
    }
}
