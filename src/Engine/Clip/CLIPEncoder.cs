using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Clip;

/// <summary>transformers' CLIPEncoder: num_hidden_layers <see cref="CLIPEncoderLayer"/>s applied in turn.</summary>
public sealed class CLIPEncoder : Module<Tensor, Tensor[]>
{
    public readonly ModuleList<CLIPEncoderLayer> layers;

    public CLIPEncoder(CLIPTextConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(CLIPEncoder))
    {
        ArgumentNullException.ThrowIfNull(config);
        layers = new ModuleList<CLIPEncoderLayer>(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new CLIPEncoderLayer(config, device: device, dtype: dtype)).ToArray());
        RegisterComponents();
    }

    /// <summary>Every hidden state, as transformers' output_hidden_states=True gives them: element 0 is the input
    /// (a new handle on <paramref name="inputs_embeds"/>'s data), element i the output of layer i − 1; the last is the
    /// encoder's output (before the text model's final layer norm). The caller owns all of them.</summary>
    public override Tensor[] forward(Tensor inputs_embeds)
    {
        ArgumentNullException.ThrowIfNull(inputs_embeds);
        using var scope = torch.NewDisposeScope();
        var states = new Tensor[layers.Count + 1];
        states[0] = inputs_embeds.alias();
        for (var i = 0; i < layers.Count; i++) states[i + 1] = layers[i].call(states[i]);
        foreach (var s in states) s.MoveToOuterDisposeScope();
        return states;
    }
}
