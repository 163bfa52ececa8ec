using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.IO;

/// <summary>
/// Loads a checkpoint into a module by walking its state dict: keys and shapes are checked against the file headers
/// before any data is read (strict: every missing, unexpected and mis-shaped key is named), then each tensor is read
/// and copied into place one at a time, so peak memory is the model plus one tensor. Dtype converts on copy.
/// </summary>
public static class CheckpointLoader
{
    /// <summary>Loads <paramref name="checkpoint"/> into <paramref name="module"/>, reporting tensors done to
    /// <paramref name="progress"/>. <paramref name="ignored"/>: keys a checkpoint may hold that the model deliberately
    /// lacks (transformers' _keys_to_ignore_on_load_unexpected, e.g. older CLIP exports' position_ids buffer).</summary>
    public static void Load(Module module, ShardedCheckpoint checkpoint, IProgress<int>? progress = null, IReadOnlyCollection<string>? ignored = null)
    {
        var own = module.state_dict();
        var missing = own.Keys.Where(k => !checkpoint.Contains(k)).Order(StringComparer.Ordinal).ToList();
        var unexpected = checkpoint.Names.Where(k => !own.ContainsKey(k) && ignored?.Contains(k) != true).Order(StringComparer.Ordinal).ToList();
        var misshaped = own.Where(kv => checkpoint.Contains(kv.Key) && !checkpoint.Entry(kv.Key).Shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key}: expected [{string.Join(", ", kv.Value.shape)}], got {checkpoint.Entry(kv.Key).ShapeText}")
            .ToList();
        if (missing.Count + unexpected.Count + misshaped.Count > 0)
            throw new StateDictException($"{module.GetType().Name} from {checkpoint.Path}", missing, unexpected, misshaped);
        using var noGrad = torch.no_grad();
        var done = 0;
        foreach (var (name, target) in own)
        {
            using (var source = checkpoint.Read(name)) target.copy_(source);
            progress?.Report(++done);
        }
    }

    /// <summary>Opens a diffusers component folder's weights and loads them into <paramref name="module"/>.</summary>
    public static void LoadComponent(Module module, string folder, IProgress<int>? progress = null, IReadOnlyCollection<string>? ignored = null)
    {
        using var checkpoint = ShardedCheckpoint.OpenComponent(folder);
        Load(module, checkpoint, progress, ignored);
    }

    /// <summary>Builds a model from its component folder's config.json with <paramref name="build"/> and loads the
    /// folder's weights into it (strict); a failed load disposes the half-built model.</summary>
    public static TModel BuildAndLoad<TConfig, TModel>(string folder, Func<TConfig, TModel> build, IReadOnlyCollection<string>? ignored = null)
        where TModel : Module
    {
        var model = build(ConfigJson.LoadComponent<TConfig>(folder));
        try
        {
            LoadComponent(model, folder, ignored: ignored);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
