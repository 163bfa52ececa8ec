using TLoRA.Engine.Pipelines;

namespace TLoRA.Engine.Tests.Pipelines;

/// <summary>The tiny SD-XL pipeline, loaded once per test class.</summary>
public sealed class SdxlPipelineFixture : IDisposable
{
    public SdxlPipeline Pipeline { get; } = SdxlPipeline.Load(FixturePaths.SdxlTiny);

    public void Dispose() => Pipeline.Dispose();
}
