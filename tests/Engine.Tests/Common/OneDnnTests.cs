using TLoRA.Engine;
using TLoRA.Engine.Training;
using TorchSharp;
using static TLoRA.Engine.Tests.Common.IlCalls;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace TLoRA.Engine.Tests.Common;

/// <summary>Every training backward runs without oneDNN on the CPU (its convolution backward returned NaN gradients
/// now and then; see <see cref="OneDnn"/>), while forwards keep it.</summary>
public sealed class OneDnnTests
{
    private static bool OptedIn => Environment.GetEnvironmentVariable("TLORA_ONEDNN") == "1";

    [Fact]
    public void Off_holds_until_the_last_overlapping_caller_lets_go()
    {
        Assert.NotNull(OneDnn.Enabled); // the switch is reachable on Linux x64
        if (OptedIn) return;
        var first = OneDnn.Off();
        var second = OneDnn.Off();
        Assert.False(OneDnn.Enabled);
        first.Dispose();
        first.Dispose(); // twice: still counted once
        Assert.False(OneDnn.Enabled);
        second.Dispose(); // restores what was set before, unless another test's backward still holds it
    }

    [Fact]
    public void Backward_runs_with_oneDNN_off_and_gives_the_gradients_of_a_plain_backward()
    {
        if (OptedIn) return;
        var before = OneDnn.Enabled;
        using var scope = torch.NewDisposeScope();
        var generator = new Generator(7);
        var weight = torch.randn([4, 3, 3, 3], generator: generator);
        var input = torch.randn([1, 3, 8, 8], generator: generator).requires_grad_(true);
        OneDnnProbe.Seen = null;
        OneDnn.Backward(torch.nn.functional.conv2d(OneDnnProbe.apply(input), weight, padding: [1, 1]).square().sum());
        Assert.False(OneDnnProbe.Seen); // read inside the backward
        Assert.Equal(before, OneDnn.Enabled); // and restored after it
        var viaOff = input.grad!.clone();

        input.grad = null;
        using (OneDnn.Off()) torch.nn.functional.conv2d(input, weight, padding: [1, 1]).square().sum().backward(); // what Backward must do
        Assert.Equal(viaOff.ToArray<float>(), input.grad!.ToArray<float>());
    }

    /// <summary>The rule kept for good: an engine method that backpropagates calls <see cref="OneDnn.Backward"/>, never
    /// Tensor.backward itself (a new training path would otherwise bring the NaN gradients back).</summary>
    [Fact]
    public void No_engine_method_backpropagates_except_through_OneDnn_Backward()
    {
        var engine = typeof(OneDnn).Assembly;
        bool IsBackward(System.Reflection.MethodBase c) => c.DeclaringType == typeof(Tensor) && c.Name == "backward";
        var backwards = Methods(engine).Where(m => Calls(m).Any(IsBackward))
            .Select(m => $"{m.DeclaringType!.FullName}.{m.Name}").ToList();
        Assert.Contains("TLoRA.Engine.OneDnn.Backward", backwards); // the scan sees what it must
        Assert.Equal(["TLoRA.Engine.OneDnn.Backward"], backwards);
        // and training goes through it: AdapterTrainer.Run is an iterator, its body a compiler-made MoveNext
        Assert.Contains(Methods(engine), m => m.DeclaringType!.FullName!.StartsWith(typeof(AdapterTrainer).FullName + "+", StringComparison.Ordinal)
                                               && Calls(m).Any(c => c.DeclaringType == typeof(OneDnn) && c.Name == nameof(OneDnn.Backward)));
    }
}

/// <summary>An identity whose backward records whether oneDNN was on while the backward ran.</summary>
internal sealed class OneDnnProbe : torch.autograd.SingleTensorFunction<OneDnnProbe>
{
    public static bool? Seen;

    public override string Name => nameof(OneDnnProbe);

    public override Tensor forward(AutogradContext ctx, params object[] vars) => ((Tensor)vars[0]).clone();

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        Seen = OneDnn.Enabled;
        return [grad_output];
    }
}
