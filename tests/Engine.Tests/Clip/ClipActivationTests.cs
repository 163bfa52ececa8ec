using TLoRA.Engine.Clip;
using TLoRA.Engine.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Clip;

/// <summary>What config.json decides: hidden_act, the pooling rule, attention dropout.</summary>
public sealed class ClipActivationTests
{
    [Fact]
    public void The_activation_is_the_configs()
    {
        using var te1 = CLIPTextModel.Load(ClipFixture.TextEncoder);
        using var te2 = CLIPTextModelWithProjection.Load(ClipFixture.TextEncoder2);
        var act1 = ConfigJson.LoadComponent<CLIPTextConfig>(ClipFixture.TextEncoder).HiddenAct;
        var act2 = ConfigJson.LoadComponent<CLIPTextConfig>(ClipFixture.TextEncoder2).HiddenAct;
        Assert.NotEqual(act1, act2); // the fixture uses one of each
        Assert.All(te1.text_model.encoder.layers, l => Assert.Equal(act1, l.mlp.hidden_act));
        Assert.All(te2.text_model.encoder.layers, l => Assert.Equal(act2, l.mlp.hidden_act));
    }

    [Fact]
    public void Swapping_the_configs_activation_changes_the_output()
    {
        using var dir = new TempDir();
        var act = ConfigJson.LoadComponent<CLIPTextConfig>(ClipFixture.TextEncoder).HiddenAct;
        var other = act == "quick_gelu" ? "gelu" : "quick_gelu";
        var folder = ClipFixture.EditedCopy(dir, ClipFixture.TextEncoder, editConfig: c => c.Replace($"\"{act}\"", $"\"{other}\""));
        using var swapped = CLIPTextModel.Load(folder);
        Assert.Equal(other, swapped.config.HiddenAct);
        using var scope = torch.NewDisposeScope();
        using var result = swapped.call(ClipFixture.Reference("text.ids"));
        var e = Parity.Measure(ClipFixture.Reference("text.te1_penultimate"), result.hidden_states[^2]);
        Assert.True(e.MaxAbsError > 1e-3 * e.MaxAbsExpected, e.ToString());
    }

    [Fact]
    public void Quick_gelu_and_gelu_are_transformers_formulas()
    {
        using var scope = torch.NewDisposeScope();
        double[] xs = [-4, -1.5, -0.3, 0, 0.2, 1, 2.5, 6];
        var x = torch.tensor(xs);
        var quick = CLIPMLP.Activate(x, "quick_gelu").ToArray<double>();
        var gelu = CLIPMLP.Activate(x, "gelu").ToArray<double>();
        for (var i = 0; i < xs.Length; i++)
        {
            Assert.Equal(xs[i] / (1 + Math.Exp(-1.702 * xs[i])), quick[i], 1e-12);
            Assert.Equal(0.5 * xs[i] * (1 + Erf(xs[i] / Math.Sqrt(2))), gelu[i], 1e-6);
        }
        var e = Assert.Throws<InvalidDataException>(() => new CLIPTextConfig { HiddenAct = "swish" }.Validate());
        Assert.Contains("swish", e.Message);
    }

    [Fact]
    public void Pooling_uses_argmax_for_legacy_eos_id_2_and_the_first_eos_otherwise()
    {
        var tiny = new CLIPTextConfig { VocabSize = 16, HiddenSize = 4, IntermediateSize = 8, NumAttentionHeads = 2, NumHiddenLayers = 1, MaxPositionEmbeddings = 6 };
        using var legacy = new CLIPTextTransformer(tiny with { EosTokenId = 2 });
        using var current = new CLIPTextTransformer(tiny with { EosTokenId = 7 });
        using var scope = torch.NewDisposeScope();
        var ids = torch.tensor(new long[] { 0, 7, 15, 15, 2, 7, 0, 2, 9, 7, 7, 1 }, 2, 6);
        Assert.Equal([2L, 2L], legacy.EosPositions(ids).ToArray<long>()); // first maximum of each row
        Assert.Equal([1L, 3L], current.EosPositions(ids).ToArray<long>());
        using var output = current.call(ids);
        Parity.AssertClose(output.last_hidden_state.select(0, 1).select(0, 3), output.pooler_output.select(0, 1), rel: 0, abs: 0, name: "pooled row 1");
    }

    [Fact]
    public void Training_with_attention_dropout_takes_the_eager_path()
    {
        var config = ConfigJson.LoadComponent<CLIPTextConfig>(ClipFixture.TextEncoder) with { AttentionDropout = 1e-12 };
        using var model = new CLIPTextModel(config);
        using var scope = torch.NewDisposeScope();
        var ids = ClipFixture.Reference("text.ids");
        using var eval = Eval(model).call(ids);
        using var train = Train(model).call(ids);
        Parity.AssertClose(eval.last_hidden_state, train.last_hidden_state, name: "eager attention (p = 1e-12)");
        Assert.True(train.last_hidden_state.requires_grad);
    }

    /// <summary>erf by Abramowitz–Stegun 7.1.26 (|error| ≤ 1.5e-7).</summary>
    private static double Erf(double x)
    {
        var t = 1 / (1 + 0.3275911 * Math.Abs(x));
        var y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return Math.Sign(x) * y;
    }

    private static CLIPTextModel Eval(CLIPTextModel m)
    {
        m.eval();
        return m;
    }

    private static CLIPTextModel Train(CLIPTextModel m)
    {
        m.train();
        return m;
    }
}
