namespace TLoRA.Torch;

/// <summary>
/// Collects every tensor created on this thread while it is the innermost scope and disposes them with the scope,
/// except those moved out (<see cref="Tensor.MoveToOuterDisposeScope"/>) or detached
/// (<see cref="Tensor.DetachFromDisposeScope"/>). Scopes nest and belong to one thread: never hold one across an await.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? current;

    private readonly List<Tensor> owned = new();
    private readonly int threadId = Environment.CurrentManagedThreadId;
    private bool disposed;

    internal DisposeScope? Outer { get; }

    internal DisposeScope()
    {
        Outer = current;
        current = this;
    }

    internal static DisposeScope? Current => current;

    /// <summary>Number of tensors this scope will dispose.</summary>
    public int Count => owned.Count(t => t.OwningScope == this && !t.IsClosed);

    internal static void Register(Tensor t)
    {
        var s = current;
        if (s is null) return;
        t.OwningScope = s;
        s.owned.Add(t);
    }

    internal void Adopt(Tensor t)
    {
        t.OwningScope = this;
        owned.Add(t);
    }

    public void Dispose()
    {
        if (disposed) return;
        if (Environment.CurrentManagedThreadId != threadId)
            throw new InvalidOperationException("a DisposeScope must be disposed on the thread that created it");
        if (current != this)
            throw new InvalidOperationException("dispose scopes must be disposed innermost first");
        disposed = true;
        current = Outer;
        foreach (var t in owned)
        {
            if (t.OwningScope == this)
            {
                t.OwningScope = null;
                t.Dispose();
            }
        }
        owned.Clear();
    }
}
