using TLoRA.Engine;
using TLoRA.Engine.Adapters;
using TLoRA.Engine.IO;
using TLoRA.Engine.Pipelines;
using TLoRA.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Training;

/// <summary>The GPU recipe, checked on the CPU with bfloat16 (libtorch's CPU kernels have it): frozen weights in
/// bf16, adapters, their gradients and AdamW's state in fp32, and the adapters train.</summary>
public sealed class MixedPrecisionTests
{
    public static TheoryData<string, AdapterMethod> Cases => new()
    {
        { "sdxl-tiny", AdapterMethod.LoRA }, { "sdxl-tiny", AdapterMethod.VanillaTLoRA }, { "sdxl-tiny", AdapterMethod.TLoRA },
        { "flux-tiny", AdapterMethod.VanillaTLoRA }, { "flux-tiny", AdapterMethod.TLoRA },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bf16_weights_train_fp32_adapters_with_fp32_optimizer_state(string fixture, AdapterMethod method)
    {
        using var pipeline = PipelineLoader.Load(Path.Combine(FixturePaths.Root, fixture), ScalarType.BFloat16);
        var frozen = pipeline.Denoiser.parameters().ToList(); // before the adapters join the module tree
        Assert.All(frozen, p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        var resolution = PipelineLoader.DefaultResolution(pipeline);
        var options = new TrainingOptions { Method = method, Rank = 2, MinRank = 1, Seed = 3, LearningRate = 1e-2, Resolution = resolution };
        using var network = AdapterNetwork.Attach(pipeline.Denoiser, options.ToSpec(pipeline.ScheduleKind, pipeline.AdapterProjections),
            new Generator(options.Seed), pipeline.Device);
        var parameters = network.TrainableParameters;
        Assert.All(parameters, p => Assert.Equal(ScalarType.Float32, p.dtype));
        using var before = torch.cat(parameters.Select(p => p.detach().flatten()).ToList()).DetachFromDisposeScope();
        using var optimizer = new AdamW(parameters, options.LearningRate);
        using var image = ConceptImage.Load(Path.Combine(FixturePaths.Root, "concept", "toy-robot.jpg"), resolution);
        using var example = pipeline.PrepareTraining(image, options.TrainingPrompt);
        var generator = new Generator(5);
        for (var step = 0; step < 2; step++)
        {
            using var scope = torch.NewDisposeScope();
            var (loss, _) = pipeline.TrainingLoss(example, network, generator);
            Assert.Equal(ScalarType.Float32, loss.dtype);
            OneDnn.Backward(loss);
            Assert.All(parameters, p => Assert.Equal(ScalarType.Float32, p.grad!.dtype));
            Assert.All(frozen, p => Assert.Null(p.grad));
            optimizer.step();
            optimizer.zero_grad();
            Assert.True(double.IsFinite(loss.ItemDouble()));
        }
        var state = optimizer.state_dict();
        try
        {
            var moments = state.Where(kv => kv.Key.Contains("exp_avg", StringComparison.Ordinal)).ToList();
            Assert.Equal(2 * parameters.Count, moments.Count);
            Assert.All(moments, kv => Assert.Equal(ScalarType.Float32, kv.Value.dtype));
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
        using var after = torch.cat(parameters.Select(p => p.detach().flatten()).ToList());
        Assert.False(after.equal(before).all().item<bool>(), "the adapters did not move");
        Assert.All(frozen, p => Assert.Equal(ScalarType.BFloat16, p.dtype));
    }
}
