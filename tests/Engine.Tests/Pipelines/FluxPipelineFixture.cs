using System.Text.Json;
using TLoRA.Engine.Pipelines;

namespace TLoRA.Engine.Tests.Pipelines;

/// <summary>The tiny FLUX pipeline, loaded once per test class with the T5 sequence length its references used.</summary>
public sealed class FluxPipelineFixture : IDisposable
{
    public FluxPipeline Pipeline { get; } = FluxPipeline.Load(FixturePaths.FluxTiny, maxSequenceLength: Case("sample").GetProperty("max_sequence_length").GetInt32());

    /// <summary>An entry of flux-tiny's reference_cases.json.</summary>
    public static JsonElement Case(string key)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixturePaths.FluxTiny, "reference_cases.json")));
        return doc.RootElement.GetProperty(key).Clone();
    }

    /// <summary>The adapter the references were computed with.</summary>
    public static string AdapterPath => Path.Combine(FixturePaths.FluxTiny, "reference_vanilla_tlora_adapter.safetensors");

    /// <summary>train.params_without_grad: the official file's adapters that the forward never uses.</summary>
    public static List<string> ParamsWithoutGrad() =>
        Case("train").GetProperty("params_without_grad").EnumerateArray().Select(e => e.GetString()!).Order(StringComparer.Ordinal).ToList();

    public void Dispose() => Pipeline.Dispose();
}
