using TLoRA.Contracts.V1;
using TLoRA.Engine.Training;
using TLoRA.GpuService.Jobs;

namespace TLoRA.GpuService.Tests;

public class RequestMappingTests
{
    [Fact]
    public void Gradient_checkpointing_is_off_unless_asked_for()
    {
        Assert.Equal(new TrainingOptions().GradientCheckpointing, RequestMapping.ToOptions(new TrainRequest(), 64).GradientCheckpointing);
        Assert.False(RequestMapping.ToOptions(new TrainRequest(), 64).GradientCheckpointing);
        Assert.True(RequestMapping.ToOptions(new TrainRequest { GradientCheckpointing = true }, 64).GradientCheckpointing);
    }
}
