using TLoRA.Engine.IO;
using TLoRA.Engine.Vae;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace TLoRA.Engine.Tests.Vae;

/// <summary>The fixture's VAE, loaded once.</summary>
public sealed class SdxlVaeFixture : IDisposable
{
    public SdxlVaeFixture() => Model = AutoencoderKL.Load(Folder);

    public static string Folder => Path.Combine(FixturePaths.SdxlTiny, "vae");

    public AutoencoderKL Model { get; }

    public void Dispose() => Model.Dispose();
}

/// <summary>AutoencoderKL against diffusers' outputs on the SD-XL fixture.</summary>
public sealed class AutoencoderKLTests(SdxlVaeFixture fixture, ITestOutputHelper output) : IClassFixture<SdxlVaeFixture>
{
    private AutoencoderKL Vae => fixture.Model;

    private void Check(string name, Tensor actual)
    {
        var expected = ReferenceOutputs.Read(name);
        output.WriteLine($"{name}: max relative error {ReferenceOutputs.RelativeError(expected, actual):E3}");
        Parity.AssertClose(expected, actual, name);
    }

    [Fact]
    public void Encode_matches_diffusers_posterior()
    {
        using var scope = torch.NewDisposeScope();
        using var posterior = Vae.encode(ReferenceOutputs.Read("vae.image"));
        Check("vae.posterior_mean", posterior.mean);
        Check("vae.posterior_logvar", posterior.logvar);
    }

    [Fact]
    public void Decode_of_the_mean_matches_diffusers()
    {
        using var scope = torch.NewDisposeScope();
        Check("vae.decoded", Vae.decode(ReferenceOutputs.Read("vae.posterior_mean")));
    }

    [Fact]
    public void Posterior_sample_is_mean_plus_std_times_seeded_noise()
    {
        using var scope = torch.NewDisposeScope();
        var moments = torch.cat([torch.randn([1, 2, 3, 3], generator: new Generator(5)), torch.full([1, 2, 3, 3], 50.0)], 1);
        using var posterior = new DiagonalGaussianDistribution(moments);
        Assert.Equal(20.0, posterior.logvar.amax().ItemDouble()); // clamped to [-30, 20]
        var a = posterior.sample(new Generator(7));
        var expected = posterior.mean + posterior.std * torch.randn([1, 2, 3, 3], generator: new Generator(7));
        Parity.AssertClose(expected, a, "sample", rel: 0, abs: 0);
        Parity.AssertClose(posterior.mean, posterior.mode(), "mode", rel: 0, abs: 0);
    }

    [Fact]
    public void Force_upcast_keeps_a_float16_request_in_float32()
    {
        Assert.True(Vae.config.force_upcast);
        using var half = AutoencoderKL.Load(SdxlVaeFixture.Folder, ScalarType.Float16);
        Assert.Equal(ScalarType.Float32, half.dtype);
        Assert.All(half.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
    }

    [Fact]
    public void Optional_convs_and_mid_attention_follow_the_config()
    {
        var config = ConfigJson.LoadComponent<AutoencoderKLConfig>(SdxlVaeFixture.Folder) with
        {
            use_quant_conv = false, use_post_quant_conv = false, mid_block_add_attention = false,
        };
        using var vae = new AutoencoderKL(config);
        var keys = vae.state_dict().Keys.ToList();
        Assert.DoesNotContain(keys, k => k.Contains("quant_conv") || k.Contains("attentions"));
        Assert.Equal(Vae.state_dict().Count - 4 - 2 * 10, keys.Count);
        using var scope = torch.NewDisposeScope();
        var z = torch.randn([1, config.latent_channels, 4, 4]);
        var factor = 1 << (config.block_out_channels.Length - 1);
        Assert.Equal(new long[] { 1, config.out_channels, 4 * factor, 4 * factor }, vae.decode(z).shape);
    }
}
