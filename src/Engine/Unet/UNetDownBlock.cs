using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Unet;

/// <summary>What the UNet needs of a down block (<see cref="DownBlock2D"/>, <see cref="CrossAttnDownBlock2D"/>): the
/// downsampled output and the skip tensors for the up path, in order.</summary>
public abstract class UNetDownBlock : Module
{
    /// <summary>Names the module for TorchSharp.</summary>
    protected UNetDownBlock(string name) : base(name) { }

    /// <summary>Applies the block to <paramref name="hidden_states"/> with time embedding <paramref name="temb"/> and
    /// context <paramref name="encoder_hidden_states"/> (ignored by blocks without attention); returns the output and
    /// every resnet's (and the downsampler's) output as skip connections.</summary>
    public abstract (Tensor hidden_states, IReadOnlyList<Tensor> output_states) forward(Tensor hidden_states, Tensor temb,
        Tensor? encoder_hidden_states);
}
