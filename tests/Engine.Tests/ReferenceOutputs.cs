using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests;

/// <summary>Reads tensors of the SD-XL fixture's reference_outputs.safetensors.</summary>
internal static class ReferenceOutputs
{
    public static string Path => System.IO.Path.Combine(FixturePaths.SdxlTiny, "reference_outputs.safetensors");

    /// <summary>The fixture's reference_cases.json (settings and facts of the reference run).</summary>
    public static System.Text.Json.JsonElement Cases { get; } = System.Text.Json.JsonDocument.Parse(
        File.ReadAllText(System.IO.Path.Combine(FixturePaths.SdxlTiny, "reference_cases.json"))).RootElement;

    /// <summary>The reference T-LoRA adapters' rank and r_min.</summary>
    public static (int Rank, int MinRank) AdapterRanks =>
        (Cases.GetProperty("tlora").GetProperty("rank").GetInt32(), Cases.GetProperty("tlora").GetProperty("min_rank").GetInt32());

    /// <summary>Reads <paramref name="name"/> (in the current dispose scope).</summary>
    public static Tensor Read(string name)
    {
        using var file = SafetensorsFile.Open(Path);
        return file.Read(name);
    }

    /// <summary>max |expected − actual| / max |expected|, for reporting.</summary>
    public static double RelativeError(Tensor expected, Tensor actual)
    {
        using var scope = torch.NewDisposeScope();
        var e = expected.detach().to(ScalarType.Float64, torch.CPU);
        var a = actual.detach().to(ScalarType.Float64, torch.CPU);
        return (e - a).abs().amax().ItemDouble() / e.abs().amax().ItemDouble();
    }
}
