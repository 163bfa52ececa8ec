using System.Text.Json;
using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Clip;

/// <summary>Paths and reference tensors of the SD-XL fixture's text side.</summary>
internal static class ClipFixture
{
    public static string TextEncoder => Path.Combine(FixturePaths.SdxlTiny, "text_encoder");
    public static string TextEncoder2 => Path.Combine(FixturePaths.SdxlTiny, "text_encoder_2");
    public static string Tokenizer => Path.Combine(FixturePaths.SdxlTiny, "tokenizer");
    public static string Tokenizer2 => Path.Combine(FixturePaths.SdxlTiny, "tokenizer_2");

    /// <summary>The prompt the text.* references were computed for (reference_cases.json, sample.prompt).</summary>
    public static string Prompt
    {
        get
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixturePaths.SdxlTiny, "reference_cases.json")));
            return doc.RootElement.GetProperty("sample").GetProperty("prompt").GetString()!;
        }
    }

    /// <summary>Reads reference tensor <paramref name="name"/> (in the current dispose scope, if any).</summary>
    public static Tensor Reference(string name)
    {
        using var outputs = ShardedCheckpoint.Open(Path.Combine(FixturePaths.SdxlTiny, "reference_outputs.safetensors"));
        return outputs.Read(name);
    }

    /// <summary>Copies a text encoder folder into <paramref name="dir"/> with its tensors edited by
    /// <paramref name="edit"/> and its config.json text by <paramref name="editConfig"/>; returns the copy's folder.</summary>
    public static string EditedCopy(TempDir dir, string folder, Action<Dictionary<string, Tensor>>? edit = null,
        Func<string, string>? editConfig = null)
    {
        var target = Directory.CreateDirectory(dir.File(Path.GetFileName(folder))).FullName;
        var config = File.ReadAllText(Path.Combine(folder, "config.json"));
        File.WriteAllText(Path.Combine(target, "config.json"), editConfig is null ? config : editConfig(config));
        using var scope = torch.NewDisposeScope();
        using var checkpoint = ShardedCheckpoint.OpenComponent(folder);
        var tensors = checkpoint.ReadAll();
        edit?.Invoke(tensors);
        SafetensorsWriter.Save(Path.Combine(target, "model.safetensors"), tensors);
        return target;
    }
}
