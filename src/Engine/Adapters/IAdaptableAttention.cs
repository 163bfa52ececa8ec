namespace TLoRA.Engine.Adapters;

/// <summary>An attention layer that accepts an <see cref="AttentionAdapter"/> on its projections.</summary>
public interface IAdaptableAttention
{
    /// <summary>The projections an adapter may change, by name ("to_q", "to_k", "to_v", "to_out", FLUX's "add_q_proj", ...),
    /// with their input and output features.</summary>
    IReadOnlyDictionary<string, (long In, long Out)> AdaptableProjections { get; }

    AttentionAdapter? processor { get; }

    /// <summary>Attaches (or with null removes) the adapter, registered as the "processor" submodule.</summary>
    void SetAdapter(AttentionAdapter? adapter);
}
