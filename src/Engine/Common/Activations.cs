using TLoRA.Torch;
using static TLoRA.Torch.torch.nn;

namespace TLoRA.Engine.Common;

/// <summary>diffusers' <c>get_activation</c>: the activation functions a config names ("silu"/"swish", "gelu", "relu").</summary>
public static class Activations
{
    /// <summary>Checks that <paramref name="name"/> is supported and returns it (for constructors: fail early).</summary>
    public static string Check(string name) => name switch
    {
        "silu" or "swish" or "gelu" or "relu" => name,
        _ => throw new NotSupportedException($"activation function '{name}' is not supported (silu, swish, gelu, relu)"),
    };

    /// <summary>Applies activation <paramref name="name"/> to <paramref name="x"/>.</summary>
    public static Tensor Apply(string name, Tensor x) => name switch
    {
        "silu" or "swish" => functional.silu(x),
        "gelu" => functional.gelu(x),
        "relu" => functional.relu(x),
        _ => throw new NotSupportedException($"activation function '{name}' is not supported (silu, swish, gelu, relu)"),
    };
}
