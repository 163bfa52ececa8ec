using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests;

/// <summary>Reads tensors of the FLUX fixture's reference_outputs.safetensors.</summary>
internal static class FluxReferenceOutputs
{
    public static string Path => System.IO.Path.Combine(FixturePaths.FluxTiny, "reference_outputs.safetensors");

    /// <summary>Reads <paramref name="name"/> (in the current dispose scope).</summary>
    public static Tensor Read(string name)
    {
        using var file = SafetensorsFile.Open(Path);
        return file.Read(name);
    }
}
