using TLoRA.Engine.Common;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Unet;

/// <summary>diffusers' <c>FeedForward</c>: <c>net</c> = [activation (GEGLU or GELU, dim → inner, holding <c>proj</c>),
/// Dropout, Linear(inner → dim_out)], so keys read ff.net.0.proj.weight and ff.net.2.weight.</summary>
public sealed class FeedForward : Module<Tensor, Tensor>
{
    public readonly ModuleList<Module> net;

    /// <param name="dim">Input width.</param>
    /// <param name="dim_out">Output width (default: dim).</param>
    /// <param name="mult">inner = dim · mult unless inner_dim is given.</param>
    /// <param name="dropout">Dropout after the activation.</param>
    /// <param name="activation_fn">"geglu" (SD, SD-XL), "geglu-approximate", "gelu" or "gelu-approximate" (FLUX).</param>
    /// <param name="inner_dim">Hidden width.</param>
    /// <param name="bias">Whether the layers have biases.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="device">Parameter device.</param>
    public FeedForward(long dim, long? dim_out = null, double mult = 4, double dropout = 0.0, string activation_fn = "geglu",
        long? inner_dim = null, bool bias = true, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(FeedForward))
    {
        var inner = inner_dim ?? (long)(dim * mult);
        Module<Tensor, Tensor> act = activation_fn switch
        {
            "geglu" => new GEGLU(dim, inner, "none", bias, device: device, dtype: dtype),
            "geglu-approximate" => new GEGLU(dim, inner, "tanh", bias, device: device, dtype: dtype),
            "gelu" => new GELU(dim, inner, "none", bias, device: device, dtype: dtype),
            "gelu-approximate" => new GELU(dim, inner, "tanh", bias, device: device, dtype: dtype),
            _ => throw new NotSupportedException(
                $"FeedForward activation '{activation_fn}' is not supported (geglu, geglu-approximate, gelu, gelu-approximate)"),
        };
        net = new ModuleList<Module>(act, Dropout(dropout), Linear(inner, dim_out ?? dim, bias, device: device, dtype: dtype));
        RegisterComponents();
    }

    /// <summary>Applies the feed-forward to <paramref name="hidden_states"/> (..., dim).</summary>
    public override Tensor forward(Tensor hidden_states)
    {
        using var scope = torch.NewDisposeScope();
        var h = ((Module<Tensor, Tensor>)net[0]).call(hidden_states);
        h = ((Dropout)net[1]).call(h);
        return ((Linear)net[2]).call(h).MoveToOuterDisposeScope();
    }
}
