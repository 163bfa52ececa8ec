using TLoRA.Torch;
using TLoRA.Torch.Modules;

namespace TLoRA.Engine.Common;

/// <summary>torch.nn.Dropout: a parameterless module (it holds a place in lists such as <c>to_out</c> and
/// <c>ff.net</c>, so the following layers keep their checkpoint indices). Identity when p = 0 or in eval mode.</summary>
public sealed class Dropout : Module<Tensor, Tensor>
{
    /// <summary>Creates a dropout layer with drop probability <paramref name="p"/>.</summary>
    public Dropout(double p = 0.5)
    {
        if (p is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be in [0, 1]");
        this.p = p;
        RegisterComponents();
    }

    /// <summary>The drop probability.</summary>
    public double p { get; }

    /// <summary>A fresh tensor: an alias of <paramref name="input"/> when nothing is dropped.</summary>
    public override Tensor forward(Tensor input) =>
        p == 0 || !training ? input.alias() : torch.nn.functional.dropout(input, p, training);
}
