using TLoRA.Engine.Flux;

namespace TLoRA.Engine.Tests.Flux;

/// <summary>The FLUX fixture's transformer, loaded once per test class.</summary>
public sealed class FluxTransformerFixture : IDisposable
{
    public FluxTransformerFixture() => Model = FluxTransformer2DModel.Load(Folder);

    /// <summary>The fixture's transformer/ component folder.</summary>
    public static string Folder => Path.Combine(FixturePaths.FluxTiny, "transformer");

    public FluxTransformer2DModel Model { get; }

    public void Dispose() => Model.Dispose();
}
