using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

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

    /// <summary>GELU: exact (erf) with approximate "none", or the tanh approximation with "tanh" (PyTorch's names).</summary>
    public static Tensor Gelu(Tensor x, string approximate = "none") => approximate switch
    {
        "none" => functional.gelu(x),
        "tanh" => functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        _ => throw new ArgumentException($"approximate must be 'none' or 'tanh', not '{approximate}'", nameof(approximate)),
    };
}
