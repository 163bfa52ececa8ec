using TLoRA.Engine.Clip;
using TLoRA.Engine.Flux;
using TLoRA.Engine.IO;
using TLoRA.Engine.T5;
using TLoRA.Engine.Unet;
using TLoRA.Engine.Vae;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Tests.Loading;

/// <summary>Models are built on the meta device and filled from their checkpoints (no random initialisation): every
/// tensor ends up with data, on the asked device and dtype, equal to the checkpoint's; strict loading still names
/// what is wrong.</summary>
public sealed class LoadingWithoutInitialisationTests
{
    public static TheoryData<string, string> Components => new()
    {
        { "sdxl-tiny", "unet" }, { "sdxl-tiny", "vae" }, { "sdxl-tiny", "text_encoder" }, { "sdxl-tiny", "text_encoder_2" },
        { "flux-tiny", "transformer" }, { "flux-tiny", "text_encoder_2" },
    };

    private static Module LoadComponent(string pipeline, string folder, string component) => (pipeline, component) switch
    {
        (_, "unet") => UNet2DConditionModel.Load(folder),
        (_, "vae") => AutoencoderKL.Load(folder),
        (_, "text_encoder") => CLIPTextModel.Load(folder),
        ("flux-tiny", "text_encoder_2") => T5EncoderModel.Load(folder),
        (_, "text_encoder_2") => CLIPTextModelWithProjection.Load(folder),
        (_, "transformer") => FluxTransformer2DModel.Load(folder),
        _ => throw new ArgumentException(component),
    };

    [Theory]
    [MemberData(nameof(Components))]
    public void Every_tensor_has_the_checkpoints_data(string pipeline, string component)
    {
        var folder = Path.Combine(FixturePaths.Root, pipeline, component);
        using var model = LoadComponent(pipeline, folder, component);
        using var checkpoint = ShardedCheckpoint.OpenComponent(folder);
        var state = model.state_dict();
        Assert.NotEmpty(state);
        Assert.Empty(ParameterSlots.Unmaterialised(model));
        foreach (var (name, tensor) in state)
        {
            Assert.Equal(DeviceType.CPU, tensor.device_type);
            using var expected = checkpoint.Read(name);
            using var expected32 = expected.to(tensor.dtype);
            Assert.True(expected32.equal(tensor).all().item<bool>(), $"{pipeline}/{component}: {name} differs from the checkpoint");
        }
    }

    [Fact]
    public void A_bfloat16_load_converts_every_parameter()
    {
        var folder = Path.Combine(FixturePaths.SdxlTiny, "unet");
        using var model = UNet2DConditionModel.Load(folder, ScalarType.BFloat16);
        using var checkpoint = ShardedCheckpoint.OpenComponent(folder);
        foreach (var (name, tensor) in model.state_dict())
        {
            Assert.Equal(ScalarType.BFloat16, tensor.dtype);
            using var expected = checkpoint.Read(name);
            using var converted = expected.to(ScalarType.BFloat16);
            Assert.True(converted.equal(tensor).all().item<bool>(), name);
        }
    }

    [Fact]
    public void Loaded_parameters_are_leaves_that_can_train()
    {
        using var model = UNet2DConditionModel.Load(Path.Combine(FixturePaths.SdxlTiny, "unet"));
        Assert.All(model.parameters(), p =>
        {
            Assert.True(p.is_leaf);
            Assert.True(p.requires_grad);
        });
    }

    [Fact]
    public void A_missing_key_fails_with_the_names_and_leaves_no_tensor_behind()
    {
        var source = Path.Combine(FixturePaths.SdxlTiny, "text_encoder");
        using var dir = new TempDir();
        File.Copy(Path.Combine(source, "config.json"), dir.File("config.json"));
        List<string> dropped;
        using (var checkpoint = ShardedCheckpoint.OpenComponent(source))
        {
            var tensors = checkpoint.ReadAll();
            dropped = tensors.Keys.Where(k => k.EndsWith(".bias", StringComparison.Ordinal)).Take(2).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(2, dropped.Count);
            foreach (var k in dropped)
                if (tensors.Remove(k, out var t)) t.Dispose();
            SafetensorsWriter.Save(dir.File("model.safetensors"), tensors);
            foreach (var t in tensors.Values) t.Dispose();
        }
        Assert.Throws<StateDictException>(() => CLIPTextModel.Load(dir.Path).Dispose()); // warm-up: lazily made statics
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var baseline = LiveTensors.Count;
        var e = Assert.Throws<StateDictException>(() => CLIPTextModel.Load(dir.Path).Dispose());
        Assert.Equal(dropped, e.Missing);
        foreach (var k in dropped) Assert.Contains(k, e.Message);
        Assert.Equal(baseline, LiveTensors.Count);
    }

    [Fact]
    public void A_module_whose_parameter_cannot_be_replaced_is_refused_by_name()
    {
        using var module = new FieldOnly();
        using var value = new Parameter(torch.zeros(2));
        var e = Assert.Throws<NotSupportedException>(() => ParameterSlots.Assign(ParameterSlots.Modules(module), "scale", value));
        Assert.Contains("scale", e.Message);
    }

    private sealed class FieldOnly : Module<Tensor, Tensor>
    {
        public readonly Parameter scale = new(torch.ones(2, device: ParameterSlots.Meta));

        public FieldOnly() : base(nameof(FieldOnly)) => RegisterComponents();

        public override Tensor forward(Tensor x) => x * scale;
    }
}
