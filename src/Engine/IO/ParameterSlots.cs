using System.Reflection;
using Module = TorchSharp.torch.nn.Module;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.IO;

/// <summary>
/// Builds models without a random initialisation and puts checkpoint tensors in their place. A model built on the
/// <see cref="Meta"/> device has parameters with shapes and dtypes but no memory, so TorchSharp's constructors'
/// kaiming/uniform fills cost nothing; <see cref="Assign"/> then replaces each meta parameter with a real one.
/// A parameter is replaced through the public settable property of its module named like it (TorchSharp's
/// Linear/Conv2d/Embedding/GroupNorm/LayerNorm <c>weight</c>/<c>bias</c>; the engine's own modules expose theirs the
/// same way), which re-registers the new one; the meta tensor is disposed.
/// </summary>
public static class ParameterSlots
{
    /// <summary>libtorch's meta device: tensors with shape and dtype and no storage.</summary>
    public static Device Meta { get; } = new(DeviceType.META);

    /// <summary>Whether <paramref name="tensor"/> lives on the meta device (has no data).</summary>
    public static bool IsMeta(Tensor tensor) => tensor.device_type == DeviceType.META;

    /// <summary>Every module of <paramref name="root"/> by its state-dict prefix ("" for the root).</summary>
    public static Dictionary<string, Module> Modules(Module root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var result = new Dictionary<string, Module>(StringComparer.Ordinal) { [""] = root };
        foreach (var (name, module) in root.named_modules()) result.TryAdd(name, module);
        return result;
    }

    /// <summary>Makes <paramref name="value"/> the parameter called <paramref name="name"/> (a dotted state-dict key)
    /// of the module in <paramref name="modules"/> (from <see cref="Modules"/>) that owns it.</summary>
    /// <exception cref="NotSupportedException">The owning module has no public settable property of that name.</exception>
    public static void Assign(IReadOnlyDictionary<string, Module> modules, string name, Parameter value)
    {
        ArgumentNullException.ThrowIfNull(modules);
        ArgumentNullException.ThrowIfNull(value);
        var dot = name.LastIndexOf('.');
        var (prefix, leaf) = dot < 0 ? ("", name) : (name[..dot], name[(dot + 1)..]);
        if (!modules.TryGetValue(prefix, out var owner))
            throw new KeyNotFoundException($"no module '{prefix}' holds parameter '{name}'");
        var property = owner.GetType().GetProperty(leaf, BindingFlags.Public | BindingFlags.Instance);
        if (property is not { CanWrite: true } || !property.PropertyType.IsAssignableFrom(typeof(Parameter)))
            throw new NotSupportedException(
                $"{owner.GetType().Name}.{leaf} (parameter '{name}') has no public setter: it cannot be loaded without initialisation");
        // The registered tensor, not the property's getter: TorchSharp's Embedding hands out a new wrapper per get.
        var old = owner.named_parameters(recurse: false).FirstOrDefault(p => p.name == leaf).parameter;
        property.SetValue(owner, value);
        // Embedding.weight's setter re-registers without disposing the tensor it replaces (Linear's and Conv2d's do).
        if (old is not null && !ReferenceEquals(old, value) && !old.IsInvalid) old.Dispose();
    }

    /// <summary>The state-dict keys of <paramref name="module"/> that still have no data (on the meta device).</summary>
    public static List<string> Unmaterialised(Module module) =>
        module.state_dict().Where(kv => IsMeta(kv.Value)).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();
}
