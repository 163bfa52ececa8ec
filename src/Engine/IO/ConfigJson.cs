using System.Text.Json;

namespace TLoRA.Engine.IO;

/// <summary>Reads a component's config.json (or scheduler_config.json) into its record, bound by JSON property names.</summary>
public static class ConfigJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowReadingFromString,
    };

    public static T Load<T>(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"config file '{path}' does not exist", path);
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllBytes(path), Options)
                   ?? throw new InvalidDataException($"{path}: empty config");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: cannot read {typeof(T).Name}: {e.Message}", e);
        }
    }

    /// <summary>Loads "config.json" from a component folder.</summary>
    public static T LoadComponent<T>(string folder, string fileName = "config.json") => Load<T>(Path.Combine(folder, fileName));
}
