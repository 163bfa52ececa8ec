using TLoRA.Engine.Flux;
using TLoRA.Engine.IO;
using TLoRA.Engine.Vae;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.Engine.Tests.Flux;

/// <summary>2×2 latent packing and the RoPE ids against FluxPipeline's static helpers.</summary>
public sealed class FluxLatentsTests
{
    private static int VaeScaleFactor =>
        FluxLatents.VaeScaleFactor(ConfigJson.LoadComponent<AutoencoderKLConfig>(Path.Combine(FixturePaths.FluxTiny, "vae")));

    private static void Exact(string name, Tensor actual) =>
        Parity.AssertClose(FluxReferenceOutputs.Read(name), actual, name, rel: 0, abs: 0);

    [Fact]
    public void Pack_and_unpack_match_the_reference_and_round_trip()
    {
        using var scope = torch.NewDisposeScope();
        var latents = FluxReferenceOutputs.Read("pack.latents");
        var packed = FluxLatents.Pack(latents);
        Exact("pack.packed", packed);
        var vsf = VaeScaleFactor;
        int height = (int)latents.size(2) * vsf, width = (int)latents.size(3) * vsf;
        var unpacked = FluxLatents.Unpack(FluxReferenceOutputs.Read("pack.packed"), height, width, vsf);
        Exact("pack.unpacked", unpacked);
        Parity.AssertClose(latents, FluxLatents.Unpack(packed, height, width, vsf), "round trip", rel: 0, abs: 0);
        Assert.Equal(FluxReferenceOutputs.Read("pack.packed").size(1), latents.size(2) / 2 * (latents.size(3) / 2));
    }

    [Fact]
    public void Image_ids_are_row_col_per_patch()
    {
        using var scope = torch.NewDisposeScope();
        var latents = FluxReferenceOutputs.Read("pack.latents");
        Exact("pack.img_ids", FluxLatents.ImageIds((int)latents.size(2) / 2, (int)latents.size(3) / 2));
        Assert.Equal(ScalarType.BFloat16, FluxLatents.ImageIds(2, 3, ScalarType.BFloat16).dtype);
    }

    [Fact]
    public void Sampling_layout_matches_the_pipeline()
    {
        using var scope = torch.NewDisposeScope();
        var c = FluxSchedulerTests.Cases("sample");
        int height = c.GetProperty("height").GetInt32(), width = c.GetProperty("width").GetInt32();
        var vsf = VaeScaleFactor;
        var (h, w) = FluxLatents.LatentSize(height, width, vsf);
        Exact("sample.img_ids", FluxLatents.ImageIds(h / 2, w / 2));
        Exact("sample.initial_latents", FluxLatents.Pack(FluxReferenceOutputs.Read("sample.initial_noise")));
        Exact("sample.final_latents_unpacked", FluxLatents.Unpack(FluxReferenceOutputs.Read("sample.final_latents"), height, width, vsf));
        Exact("text.text_ids", FluxLatents.TextIds(c.GetProperty("max_sequence_length").GetInt32()));
    }

    [Fact]
    public void Bad_shapes_are_rejected()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Throws<ArgumentException>(() => FluxLatents.Pack(torch.zeros(1, 4, 3, 4)));
        Assert.Throws<ArgumentException>(() => FluxLatents.Pack(torch.zeros(4, 4, 4)));
        Assert.Throws<ArgumentException>(() => FluxLatents.Unpack(torch.zeros(1, 5, 16), 32, 32, 8));
        Assert.Throws<ArgumentException>(() => FluxLatents.Unpack(torch.zeros(1, 4, 15), 32, 32, 8));
        Assert.Equal((6, 10), FluxLatents.LatentSize(48, 80, 8));
        Assert.Equal((4, 4), FluxLatents.LatentSize(40, 47, 8));
    }
}
