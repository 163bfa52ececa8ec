using TLoRA.Contracts.V1;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Jobs;

namespace TLoRA.GpuService.Tests.Robustness;

/// <summary>Issue 14 item 6: sizes and batches over the device's memory budget are refused at submit, naming the
/// limit (before: 2048² sampling passed 7 GB in 24 s; 4096² × 16 images × 64 prompts was accepted).</summary>
public class MemoryBudgetTests
{
    [Theory]
    [InlineData(2048, 2048, 1, 5.0)]
    [InlineData(4096, 4096, 16, 5.0)]
    [InlineData(1024, 1024, 16, 5.0)]
    public void Sampling_over_the_budget_is_refused_naming_it(int width, int height, int images, double guidance)
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, start: false);
        var r = new SampleRequest { ModelId = "sdxl-tiny", Prompts = { "a robot" }, Width = width, Height = height, ImagesPerPrompt = images, GuidanceScale = guidance };
        var ex = Assert.Throws<JobRequestException>(() => sys.Manager.SubmitSample(r));
        var problem = Assert.Single(ex.Fields);
        Assert.Equal("width", problem.Field);
        Assert.Contains("GpuService:MemoryBudgetGB", problem.Description);
        Assert.Contains($"{sys.Options.MemoryBudgetGB:0.#} GB", problem.Description);
    }

    [Fact]
    public void Within_the_budget_sampling_and_training_are_accepted_and_a_larger_budget_allows_more()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path, start: false);
        sys.Manager.SubmitSample(new SampleRequest { ModelId = "sdxl-tiny", Prompts = { "a robot" }, Width = 1024, Height = 1024, ImagesPerPrompt = 2 });
        // without guidance the batch is half as large
        sys.Manager.SubmitSample(new SampleRequest { ModelId = "sdxl-tiny", Prompts = { "a robot" }, Width = 2048, Height = 2048, GuidanceScale = 1 });
        var train = JobSystem.TinyTrain();
        train.Resolution = 2048;
        Assert.Equal("resolution", Assert.Single(Assert.Throws<JobRequestException>(() => sys.Manager.SubmitTrain(train)).Fields).Field);
        sys.Options.MemoryBudgetGB = 40;
        sys.Manager.SubmitSample(new SampleRequest { ModelId = "sdxl-tiny", Prompts = { "a robot" }, Width = 2048, Height = 2048 });
        sys.Manager.SubmitTrain(train);
    }
}
