using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

using Activations = TLoRA.Engine.Common.Activations;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Clip;

/// <summary>transformers' CLIPMLP: fc1, the config's activation (hidden_act), fc2.</summary>
public sealed class CLIPMLP : Module<Tensor, Tensor>
{
    private static readonly string[] Activations = ["quick_gelu", "gelu", "gelu_new", "gelu_pytorch_tanh", "relu"];

    public readonly Linear fc1;
    public readonly Linear fc2;

    public CLIPMLP(CLIPTextConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(CLIPMLP))
    {
        ArgumentNullException.ThrowIfNull(config);
        CheckActivation(config.HiddenAct);
        hidden_act = config.HiddenAct;
        fc1 = Linear(config.HiddenSize, config.IntermediateSize, true, device: device, dtype: dtype);
        fc2 = Linear(config.IntermediateSize, config.HiddenSize, true, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>The activation's transformers name (ACT2FN key).</summary>
    public string hidden_act { get; }

    public override Tensor forward(Tensor hidden_states)
    {
        using var scope = torch.NewDisposeScope();
        return fc2.call(Activate(fc1.call(hidden_states), hidden_act)).MoveToOuterDisposeScope();
    }

    /// <summary>transformers' ACT2FN[name](x): "quick_gelu" is x·sigmoid(1.702·x), "gelu" the exact (erf) GELU,
    /// "gelu_new" and "gelu_pytorch_tanh" the tanh approximation.</summary>
    public static Tensor Activate(Tensor x, string name) => name switch
    {
        "quick_gelu" => QuickGelu(x),
        "gelu" => F.gelu(x),
        "gelu_new" or "gelu_pytorch_tanh" => Common.Activations.Gelu(x, "tanh"),
        "relu" => F.relu(x),
        _ => throw UnknownActivation(name),
    };

    /// <summary>Throws <see cref="InvalidDataException"/> if <paramref name="name"/> is not a supported hidden_act.</summary>
    public static void CheckActivation(string? name)
    {
        if (name is null || !Activations.Contains(name)) throw UnknownActivation(name);
    }

    private static InvalidDataException UnknownActivation(string? name) =>
        new($"unsupported hidden_act '{name}' (supported: {string.Join(", ", Activations)})");

    private static Tensor QuickGelu(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        return (x * (x * Sc(1.702)).sigmoid()).MoveToOuterDisposeScope();
    }
}
