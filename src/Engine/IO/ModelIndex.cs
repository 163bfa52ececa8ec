using System.Text.Json;

namespace TLoRA.Engine.IO;

/// <summary>A component of a diffusers pipeline as model_index.json names it: ("unet", "diffusers", "UNet2DConditionModel").</summary>
public sealed record PipelineComponent(string Name, string Library, string ClassName);

/// <summary>
/// A diffusers pipeline folder's model_index.json: the pipeline class, its components (each a sub-folder) and the
/// pipeline's own settings (such as SD-XL's force_zeros_for_empty_prompt).
/// </summary>
public sealed class ModelIndex
{
    private ModelIndex(string folder, string className, string? diffusersVersion, IReadOnlyList<PipelineComponent> components,
        IReadOnlyDictionary<string, JsonElement> settings)
    {
        Folder = folder;
        ClassName = className;
        DiffusersVersion = diffusersVersion;
        Components = components;
        Settings = settings;
    }

    public string Folder { get; }
    /// <summary>The pipeline class, e.g. StableDiffusionXLPipeline or FluxPipeline.</summary>
    public string ClassName { get; }
    public string? DiffusersVersion { get; }
    public IReadOnlyList<PipelineComponent> Components { get; }
    /// <summary>Entries that are not components (the pipeline's registered config).</summary>
    public IReadOnlyDictionary<string, JsonElement> Settings { get; }

    public PipelineComponent this[string name] =>
        Components.FirstOrDefault(c => c.Name == name)
        ?? throw new KeyNotFoundException($"{Path.Combine(Folder, "model_index.json")} has no component '{name}' (it has: {string.Join(", ", Components.Select(c => c.Name))})");

    /// <summary>Reads and checks a pipeline folder: the folder, its model_index.json and every component's sub-folder must exist.</summary>
    public static ModelIndex Load(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"model folder '{folder}' does not exist");
        var path = Path.Combine(folder, "model_index.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"'{folder}' is not a diffusers pipeline folder: it has no model_index.json", path);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: expected a JSON object");
            string? className = null, version = null;
            var components = new List<PipelineComponent>();
            var settings = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "_class_name") className = p.Value.GetString();
                else if (p.Name == "_diffusers_version") version = p.Value.GetString();
                else if (IsComponent(p.Value)) components.Add(new(p.Name, p.Value[0].GetString()!, p.Value[1].GetString()!));
                else if (p.Value.ValueKind == JsonValueKind.Array && p.Value.GetArrayLength() == 2 && p.Value[0].ValueKind == JsonValueKind.Null)
                    continue; // an optional component that is absent ([null, null])
                else settings[p.Name] = p.Value.Clone();
            }
            if (string.IsNullOrEmpty(className)) throw new InvalidDataException($"{path}: no _class_name");
            var missing = components.Where(c => !Directory.Exists(Path.Combine(folder, c.Name))).Select(c => c.Name).ToList();
            if (missing.Count > 0)
                throw new DirectoryNotFoundException($"model folder '{folder}' lacks the component folder(s) {string.Join(", ", missing)} named in model_index.json");
            return new ModelIndex(folder, className, version, components, settings);
        }
    }

    private static bool IsComponent(JsonElement v) =>
        v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 2
        && v[0].ValueKind == JsonValueKind.String && v[1].ValueKind == JsonValueKind.String;
}
