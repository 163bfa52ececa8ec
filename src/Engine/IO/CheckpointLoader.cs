using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.IO;

/// <summary>
/// Loads a checkpoint into a module by walking its state dict: keys and shapes are checked against the file headers
/// before any data is read (strict: every missing, unexpected and mis-shaped key is named), then each tensor is read
/// and put into place one at a time, so peak memory is the model plus one tensor. A parameter with data is copied
/// into (dtype converts on copy); a parameter on the meta device (a model built by <c>BuildAndLoad</c>, with no
/// random initialisation) becomes the tensor read, converted to its dtype and moved to the target device.
/// </summary>
public static class CheckpointLoader
{
    /// <summary>Loads <paramref name="checkpoint"/> into <paramref name="module"/>, reporting tensors done to
    /// <paramref name="progress"/>. <paramref name="ignored"/>: keys a checkpoint may hold that the model deliberately
    /// lacks (transformers' _keys_to_ignore_on_load_unexpected, e.g. older CLIP exports' position_ids buffer).
    /// <paramref name="device"/>: where parameters on the meta device go (default: the CPU).</summary>
    public static void Load(Module module, ShardedCheckpoint checkpoint, IProgress<int>? progress = null, IReadOnlyCollection<string>? ignored = null,
        Device? device = null)
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
        var modules = own.Values.Any(ParameterSlots.IsMeta) ? ParameterSlots.Modules(module) : null;
        var done = 0;
        foreach (var (name, target) in own)
        {
            if (ParameterSlots.IsMeta(target)) Materialise(modules!, name, target, checkpoint.Read(name), device ?? torch.CPU);
            else using (var source = checkpoint.Read(name)) target.copy_(source);
            progress?.Report(++done);
            LoadMeter.Add(checkpoint.Entry(name).ByteLength);
        }
        var left = ParameterSlots.Unmaterialised(module);
        if (left.Count > 0)
            throw new InvalidOperationException($"{module.GetType().Name}: {left.Count} tensor(s) still have no data after loading: {string.Join(", ", left)}");
    }

    // The read tensor itself becomes the parameter when dtype and device already match (to() then only makes a new
    // handle): no second copy.
    private static void Materialise(IReadOnlyDictionary<string, Module> modules, string name, Tensor target, Tensor source, Device device)
    {
        var requiresGrad = target.requires_grad;
        Tensor data;
        using (source) data = source.to(target.dtype, device);
        var parameter = new Parameter(data, requires_grad: requiresGrad);
        try
        {
            ParameterSlots.Assign(modules, name, (Parameter)parameter.DetachFromDisposeScope());
        }
        catch
        {
            parameter.Dispose();
            throw;
        }
    }

    /// <summary>Opens a diffusers component folder's weights and loads them into <paramref name="module"/>.</summary>
    public static void LoadComponent(Module module, string folder, IProgress<int>? progress = null, IReadOnlyCollection<string>? ignored = null,
        Device? device = null)
    {
        using var checkpoint = ShardedCheckpoint.OpenComponent(folder);
        Load(module, checkpoint, progress, ignored, device);
    }

    /// <summary>Builds a model from its component folder's config.json with <paramref name="build"/> on the meta device
    /// (no memory, no random initialisation) and fills it from the folder's weights (strict) on
    /// <paramref name="device"/>; a failed load disposes the half-built model. <paramref name="build"/> makes the model
    /// from its config on the device it is given.</summary>
    public static TModel BuildAndLoad<TConfig, TModel>(string folder, Func<TConfig, Device, TModel> build, Device? device = null,
        IReadOnlyCollection<string>? ignored = null)
        where TModel : Module
    {
        var config = ConfigJson.LoadComponent<TConfig>(folder);
        using var checkpoint = ShardedCheckpoint.OpenComponent(folder);
        return BuildAndLoad(config, checkpoint, build, device, ignored);
    }

    /// <summary>As <see cref="BuildAndLoad{TConfig, TModel}(string, Func{TConfig, Device, TModel}, Device?, IReadOnlyCollection{string}?)"/>
    /// with the config and the checkpoint given.</summary>
    public static TModel BuildAndLoad<TConfig, TModel>(TConfig config, ShardedCheckpoint checkpoint, Func<TConfig, Device, TModel> build,
        Device? device = null, IReadOnlyCollection<string>? ignored = null)
        where TModel : Module
    {
        ArgumentNullException.ThrowIfNull(build);
        ArgumentNullException.ThrowIfNull(checkpoint);
        TModel model;
        // TorchSharp's initialisers leave a temporary or two behind on the meta device (two per CLIP model): the scope
        // frees them, the model's own tensors leave it.
        using (torch.NewDisposeScope())
        {
            model = build(config, ParameterSlots.Meta);
            foreach (var p in model.parameters()) p.DetachFromDisposeScope();
            foreach (var b in model.buffers()) b.DetachFromDisposeScope();
        }
        try
        {
            Load(model, checkpoint, ignored: ignored, device: device);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
