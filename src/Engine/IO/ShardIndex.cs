using System.Text.Json;

namespace TLoRA.Engine.IO;

/// <summary>The parsed <c>*.safetensors.index.json</c> of a sharded checkpoint:
/// <c>{"metadata": {...}, "weight_map": {"tensor name": "shard file name"}}</c>.</summary>
internal sealed class ShardIndex
{
    private ShardIndex(Dictionary<string, string> metadata, List<KeyValuePair<string, string>> weightMap)
    {
        Metadata = metadata;
        WeightMap = weightMap;
    }

    /// <summary>The index's metadata; non-string values (e.g. total_size) as their JSON text.</summary>
    internal Dictionary<string, string> Metadata { get; }

    /// <summary>Tensor name to shard file name (relative to the index's folder), in file order.</summary>
    internal List<KeyValuePair<string, string>> WeightMap { get; }

    /// <summary>Reads and checks the structure of the index at <paramref name="path"/>.</summary>
    internal static ShardIndex Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException e)
        {
            throw new SafetensorsException(path, "index file not found", inner: e);
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw new SafetensorsException(path, $"index is not valid JSON: {e.Message}", inner: e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new SafetensorsException(path, $"index must be a JSON object, found {root.ValueKind}");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("metadata", out var meta) && meta.ValueKind == JsonValueKind.Object)
                foreach (var item in meta.EnumerateObject())
                    metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String ? item.Value.GetString()! : item.Value.GetRawText();
            if (!root.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new SafetensorsException(path, "index has no 'weight_map' object");
            var weightMap = new List<KeyValuePair<string, string>>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in map.EnumerateObject())
            {
                if (item.Value.ValueKind != JsonValueKind.String)
                    throw new SafetensorsException(path, $"weight_map entry of tensor '{item.Name}' is not a file name", item.Name);
                if (!seen.Add(item.Name))
                    throw new SafetensorsException(path, $"weight_map lists tensor '{item.Name}' twice", item.Name);
                var shard = item.Value.GetString()!;
                CheckShardName(path, item.Name, shard);
                weightMap.Add(new(item.Name, shard));
            }
            return new ShardIndex(metadata, weightMap);
        }
    }

    /// <summary>Shards are files next to the index: no rooted paths, no way out of the folder.</summary>
    private static void CheckShardName(string path, string tensor, string shard)
    {
        var parts = shard.Split('/', '\\');
        if (shard.Length == 0 || Path.IsPathRooted(shard) || parts.Any(p => p is ".." or ""))
            throw new SafetensorsException(path, $"weight_map maps tensor '{tensor}' to '{shard}', which is not a file name next to the index", tensor);
    }
}
