using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.IO;

/// <summary>
/// The weights of one model component: a single <c>*.safetensors</c> file or a sharded checkpoint described by a
/// <c>*.safetensors.index.json</c>. Opening validates every shard's header, that every shard in the weight map exists
/// and that every mapped tensor is in its shard. Tensors are read on demand.
/// </summary>
public sealed class ShardedCheckpoint : IDisposable
{
    /// <summary>File names <see cref="OpenComponent"/> looks for, in order of preference ({0} is ".variant" or "").</summary>
    private static readonly string[] ComponentFiles =
    [
        "diffusion_pytorch_model{0}.safetensors",
        "model{0}.safetensors",
        "diffusion_pytorch_model{0}.safetensors.index.json",
        "model{0}.safetensors.index.json",
    ];

    private readonly List<SafetensorsFile> shards;
    private readonly Dictionary<string, SafetensorsFile> owner;
    private readonly string[] names;

    private ShardedCheckpoint(string path, bool isSharded, List<SafetensorsFile> shards, List<KeyValuePair<string, SafetensorsFile>> map,
        IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        IsSharded = isSharded;
        this.shards = shards;
        names = map.Select(p => p.Key).ToArray();
        owner = map.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        Metadata = metadata;
    }

    /// <summary>Opens a <c>*.safetensors</c> file or a <c>*.safetensors.index.json</c> sharded checkpoint.</summary>
    /// <exception cref="SafetensorsException">A file is invalid, a shard is missing, or a mapped tensor is not in
    /// its shard (the message names the index, the shard and the tensor).</exception>
    public static ShardedCheckpoint Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (path.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase)) return OpenIndex(path);
        var file = SafetensorsFile.Open(path);
        var map = file.Names.Select(n => new KeyValuePair<string, SafetensorsFile>(n, file)).ToList();
        return new ShardedCheckpoint(path, false, [file], map, file.Metadata);
    }

    /// <summary>Whether <paramref name="folder"/> holds one of the weight files <see cref="OpenComponent"/> opens
    /// (a tokenizer's or scheduler's folder does not).</summary>
    public static bool HasComponentWeights(string folder) =>
        ComponentFiles.Any(f => File.Exists(System.IO.Path.Combine(folder, string.Format(System.Globalization.CultureInfo.InvariantCulture, f, ""))));

    /// <summary>Opens the weights of a diffusers component folder (e.g. <c>unet/</c>): the first of
    /// <c>diffusion_pytorch_model.safetensors</c>, <c>model.safetensors</c> and their <c>.index.json</c> that exists.</summary>
    /// <param name="folder">The component folder.</param>
    /// <param name="variant">A weight variant such as "fp16" (<c>model.fp16.safetensors</c>), or null.</param>
    /// <exception cref="SafetensorsException">None of the candidates exists (the message lists them).</exception>
    public static ShardedCheckpoint OpenComponent(string folder, string? variant = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var suffix = string.IsNullOrEmpty(variant) ? "" : "." + variant;
        var candidates = ComponentFiles.Select(f => string.Format(System.Globalization.CultureInfo.InvariantCulture, f, suffix)).ToList();
        foreach (var name in candidates)
        {
            var candidate = System.IO.Path.Combine(folder, name);
            if (File.Exists(candidate)) return Open(candidate);
        }
        var why = Directory.Exists(folder) ? "no weights found" : "folder does not exist";
        throw new SafetensorsException(folder, $"{why}; looked for {string.Join(", ", candidates)}");
    }

    private static ShardedCheckpoint OpenIndex(string indexPath)
    {
        var index = ShardIndex.Load(indexPath);
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(indexPath))!;
        var opened = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (var shard in index.WeightMap.Select(p => p.Value).Distinct(StringComparer.Ordinal))
            {
                var shardPath = System.IO.Path.Combine(folder, shard);
                if (!File.Exists(shardPath))
                {
                    var user = index.WeightMap.First(p => p.Value == shard).Key;
                    throw new SafetensorsException(indexPath, $"shard '{shard}' (holding tensor '{user}' and maybe others) does not exist at {shardPath}", user);
                }
                opened[shard] = SafetensorsFile.Open(shardPath);
            }
            var map = new List<KeyValuePair<string, SafetensorsFile>>(index.WeightMap.Count);
            foreach (var (tensor, shard) in index.WeightMap)
            {
                var file = opened[shard];
                if (!file.Contains(tensor))
                    throw new SafetensorsException(indexPath, $"tensor '{tensor}' is mapped to shard '{shard}' but that shard has no such tensor", tensor);
                map.Add(new(tensor, file));
            }
            return new ShardedCheckpoint(indexPath, true, opened.Values.ToList(), map, index.Metadata);
        }
        catch
        {
            foreach (var f in opened.Values) f.Dispose();
            throw;
        }
    }

    /// <summary>The file opened: the <c>.safetensors</c> file or the <c>.index.json</c>.</summary>
    public string Path { get; }

    /// <summary>Whether this checkpoint was opened through an index.</summary>
    public bool IsSharded { get; }

    /// <summary>The single file's <c>__metadata__</c>, or the index's <c>metadata</c> (non-strings as JSON text).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Every tensor name: the file's header order, or the index's weight_map order.</summary>
    public IReadOnlyList<string> Names => names;

    /// <summary>Number of tensors.</summary>
    public int Count => names.Length;

    /// <summary>The open files (one unless sharded).</summary>
    public IReadOnlyList<SafetensorsFile> Files => shards;

    /// <summary>Whether the checkpoint holds a tensor called <paramref name="name"/>.</summary>
    public bool Contains(string name) => owner.ContainsKey(name);

    /// <summary>The file holding <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor (the message names the checkpoint and the tensor).</exception>
    public SafetensorsFile FileOf(string name) =>
        owner.TryGetValue(name, out var f) ? f : throw new KeyNotFoundException($"{Path}: no tensor '{name}' in this checkpoint ({names.Length} tensors)");

    /// <summary>The header record of <paramref name="name"/>.</summary>
    public SafetensorsEntry Entry(string name) => FileOf(name).Entry(name);

    /// <summary>Reads one tensor into a new CPU tensor.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor (the message names the checkpoint and the tensor).</exception>
    public Tensor Read(string name) => FileOf(name).Read(name);

    /// <summary>Reads every tensor; on failure the ones already read are disposed.</summary>
    public Dictionary<string, Tensor> ReadAll() => SafetensorsFile.ReadEach(names, Read);

    /// <summary>Closes every file.</summary>
    public void Dispose()
    {
        foreach (var f in shards) f.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"{Path} ({names.Length} tensors in {shards.Count} file(s))";
}
