using static TLoRA.Torch.torch.nn;

namespace TLoRA.Torch.Modules;

/// <summary>A lookup table of vectors, as torch.nn.Embedding (weight: num × dim, initialised N(0, 1)).</summary>
public sealed class Embedding : Module<Tensor, Tensor>
{
    public readonly Parameter weight;

    public Embedding(long num_embeddings, long embedding_dim, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        weight = new Parameter(torch.randn([num_embeddings, embedding_dim], null, dtype, device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => functional.embedding(input, weight);
}
