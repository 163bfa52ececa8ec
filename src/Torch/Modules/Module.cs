using System.Reflection;

namespace TLoRA.Torch.Modules;

/// <summary>
/// A tree of named parameters, buffers and submodules with PyTorch's state-dict names ("down_blocks.0.resnets.1.conv1.weight").
/// Derived classes name their fields like the checkpoint keys and call <see cref="RegisterComponents"/> at the end of
/// their constructor; lists of modules are <see cref="ModuleList{T}"/> so keys read "to_out.0.weight".
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<(string Name, Module Module)> children = new();
    private readonly List<(string Name, Parameter Parameter)> ownParameters = new();
    private readonly List<(string Name, Tensor Buffer, bool Persistent)> ownBuffers = new();
    private bool disposed;

    public bool training { get; private set; } = true;

    protected void register_module(string name, Module module)
    {
        CheckName(name);
        children.Add((name, module ?? throw new ArgumentNullException(nameof(module))));
    }

    /// <summary>Removes a submodule registered under <paramref name="name"/> (not disposing it); false if there is none.</summary>
    protected bool unregister_module(string name) => children.RemoveAll(c => c.Name == name) > 0;

    protected void register_parameter(string name, Parameter? parameter)
    {
        CheckName(name);
        if (parameter is not null) ownParameters.Add((name, parameter));
    }

    protected void register_buffer(string name, Tensor? buffer, bool persistent = true)
    {
        CheckName(name);
        if (buffer is null) return;
        buffer.DetachFromDisposeScope();
        ownBuffers.Add((name, buffer, persistent));
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.')) throw new ArgumentException($"bad component name '{name}'", nameof(name));
        if (children.Any(m => m.Name == name) || ownParameters.Any(p => p.Name == name) || ownBuffers.Any(b => b.Name == name))
            throw new ArgumentException($"component '{name}' is registered twice", nameof(name));
    }

    /// <summary>Registers every non-null field of type Module, Parameter or Tensor (a buffer) under the field's name,
    /// in declaration order, base classes first.</summary>
    protected void RegisterComponents()
    {
        var chain = new Stack<Type>();
        for (var t = GetType(); t is not null && t != typeof(Module); t = t.BaseType) chain.Push(t);
        foreach (var type in chain)
        {
            foreach (var f in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (ComponentName(f) is not { } name) continue;
                switch (f.GetValue(this))
                {
                    case Module m when !children.Any(x => ReferenceEquals(x.Module, m)): register_module(name, m); break;
                    case Parameter p when !ownParameters.Any(x => ReferenceEquals(x.Parameter, p)): register_parameter(name, p); break;
                    case Tensor b when b is not Parameter && !ownBuffers.Any(x => ReferenceEquals(x.Buffer, b)): register_buffer(name, b); break;
                }
            }
        }
    }

    /// <summary>A field's own name, or an auto-property's name for its backing field; null for other generated fields.</summary>
    private static string? ComponentName(FieldInfo f)
    {
        const string backing = ">k__BackingField";
        if (f.Name.StartsWith('<') && f.Name.EndsWith(backing, StringComparison.Ordinal)) return f.Name[1..^backing.Length];
        return f.Name.StartsWith('<') ? null : f.Name;
    }

    public IEnumerable<(string name, Module module)> named_children() => children.Select(m => (m.Name, m.Module));

    public IEnumerable<(string name, Module module)> named_modules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (n, m) in children)
            foreach (var x in m.named_modules(Join(prefix, n))) yield return x;
    }

    public IEnumerable<(string name, Parameter parameter)> named_parameters(bool recurse = true)
    {
        foreach (var (n, p) in ownParameters) yield return (n, p);
        if (!recurse) yield break;
        foreach (var (mn, m) in children)
            foreach (var (n, p) in m.named_parameters()) yield return (Join(mn, n), p);
    }

    /// <summary>All parameters, each once.</summary>
    public IEnumerable<Parameter> parameters() =>
        named_parameters().Select(x => x.parameter).Distinct(ReferenceEqualityComparer.Instance).Cast<Parameter>();

    public IEnumerable<(string name, Tensor buffer)> named_buffers(bool persistentOnly = false)
    {
        foreach (var (n, b, persistent) in ownBuffers)
            if (persistent || !persistentOnly) yield return (n, b);
        foreach (var (mn, m) in children)
            foreach (var (n, b) in m.named_buffers(persistentOnly)) yield return (Join(mn, n), b);
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    /// <summary>Parameters and persistent buffers by state-dict name, in PyTorch's order (a module's own parameters,
    /// then its buffers, then each child's). The tensors are the module's own: do not dispose.</summary>
    public Dictionary<string, Tensor> state_dict()
    {
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        AddState(d, "");
        return d;
    }

    private void AddState(Dictionary<string, Tensor> d, string prefix)
    {
        foreach (var (n, p) in ownParameters) d[Join(prefix, n)] = p;
        foreach (var (n, b, persistent) in ownBuffers)
            if (persistent) d[Join(prefix, n)] = b;
        foreach (var (n, m) in children) m.AddState(d, Join(prefix, n));
    }

    /// <summary>Copies values into this module's tensors (converting dtype and device). Strict: any missing, unexpected
    /// or mis-shaped key fails, naming all of them; nothing is copied then.</summary>
    public LoadResult load_state_dict(IReadOnlyDictionary<string, Tensor> source, bool strict = true)
    {
        var own = state_dict();
        var missing = own.Keys.Where(k => !source.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var unexpected = source.Keys.Where(k => !own.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var misshaped = own.Where(kv => source.TryGetValue(kv.Key, out var s) && !s.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key}: expected [{string.Join(", ", kv.Value.shape)}], got [{string.Join(", ", source[kv.Key].shape)}]")
            .ToList();
        if (misshaped.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
            throw new StateDictException(GetType().Name, missing, unexpected, misshaped);
        using (torch.no_grad())
        {
            foreach (var (k, t) in own)
                if (source.TryGetValue(k, out var s)) t.copy_(s);
        }
        return new LoadResult(missing, unexpected);
    }

    public Module train(bool on = true)
    {
        training = on;
        foreach (var (_, m) in children) m.train(on);
        return this;
    }

    public Module eval() => train(false);

    public Module requires_grad_(bool on = true)
    {
        foreach (var p in parameters()) p.requires_grad = on;
        return this;
    }

    /// <summary>Moves (and optionally casts floating-point) parameters and buffers in place: the same objects keep
    /// pointing at the moved tensors, requires_grad is kept.</summary>
    public Module to(Device device, ScalarType? dtype = null)
    {
        using var _ = torch.no_grad();
        foreach (var t in parameters().Cast<Tensor>().Concat(named_buffers().Select(b => b.buffer)).Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>())
        {
            var type = dtype is { } d && t.dtype.IsFloatingPoint() ? d : t.dtype;
            if (t.device == device && t.dtype == type) continue;
            var grad = t.requires_grad;
            var moved = t.to(device, type);
            t.ReplaceWith(moved);
            if (grad) t.requires_grad = true;
        }
        return this;
    }

    public Module to(ScalarType dtype) => to(parameters().FirstOrDefault()?.device ?? Device.CPU, dtype);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposed || !disposing) return;
        disposed = true;
        foreach (var (_, m) in children) m.Dispose();
        foreach (var (_, p) in ownParameters) p.Dispose();
        foreach (var (_, b, _) in ownBuffers) b.Dispose();
    }
}

/// <summary>A module with a typed forward.</summary>
public abstract class Module<TIn, TOut> : Module
{
    public abstract TOut forward(TIn input);
    public TOut call(TIn input) => forward(input);
}

public sealed record LoadResult(IReadOnlyList<string> missing_keys, IReadOnlyList<string> unexpected_keys);

public sealed class StateDictException(string module, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
    IReadOnlyList<string> misshaped) : Exception(Describe(module, missing, unexpected, misshaped))
{
    public IReadOnlyList<string> Missing { get; } = missing;
    public IReadOnlyList<string> Unexpected { get; } = unexpected;
    public IReadOnlyList<string> Misshaped { get; } = misshaped;

    private static string Describe(string module, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> misshaped)
    {
        var parts = new List<string>();
        if (missing.Count > 0) parts.Add($"missing keys ({missing.Count}): {string.Join(", ", missing)}");
        if (unexpected.Count > 0) parts.Add($"unexpected keys ({unexpected.Count}): {string.Join(", ", unexpected)}");
        if (misshaped.Count > 0) parts.Add($"mis-shaped keys ({misshaped.Count}): {string.Join("; ", misshaped)}");
        return $"cannot load state into {module}: {string.Join("; ", parts)}";
    }
}
