using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Unet;

/// <summary>What the UNet needs of an up block (<see cref="UpBlock2D"/>, <see cref="CrossAttnUpBlock2D"/>).</summary>
public abstract class UNetUpBlock : Module
{
    /// <summary>Names the module for TorchSharp.</summary>
    protected UNetUpBlock(string name) : base(name) { }

    /// <summary>Number of resnets, which is the number of skip tensors the block consumes.</summary>
    public abstract int ResnetCount { get; }

    /// <summary>Applies the block to <paramref name="hidden_states"/>, concatenating the skip tensors
    /// <paramref name="res_hidden_states"/> (in down-path order; the last is used first) on the channel axis before
    /// each resnet; <paramref name="upsample_size"/> forces the upsampler's output size (null: ×2).</summary>
    public abstract Tensor forward(Tensor hidden_states, IReadOnlyList<Tensor> res_hidden_states, Tensor temb,
        Tensor? encoder_hidden_states, (long h, long w)? upsample_size);
}
