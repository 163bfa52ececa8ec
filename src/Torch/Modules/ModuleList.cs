namespace TLoRA.Torch.Modules;

/// <summary>Submodules named "0", "1", ... as torch.nn.ModuleList.</summary>
public sealed class ModuleList<T> : Module, IReadOnlyList<T> where T : Module
{
    private readonly List<T> items = new();

    public ModuleList(IEnumerable<T> modules)
    {
        foreach (var m in modules) Add(m);
    }

    public ModuleList(params T[] modules) : this((IEnumerable<T>)modules) { }

    public void Add(T module)
    {
        register_module(items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
        items.Add(module);
    }

    public T this[int index] => items[index];
    public int Count => items.Count;
    public IEnumerator<T> GetEnumerator() => items.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
