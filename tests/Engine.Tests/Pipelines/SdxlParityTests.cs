using TLoRA.Engine;
using TLoRA.Engine.Adapters;
using TLoRA.Engine.Clip;
using TLoRA.Engine.Pipelines;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace TLoRA.Engine.Tests.Pipelines;

/// <summary>The pipeline against the fixture: the T-LoRA and Vanilla T-LoRA training steps through our adapter
/// classes and adapter-file loader (output, loss, every gradient), and the 4-step Euler sample.</summary>
public sealed class SdxlParityTests(SdxlPipelineFixture fixture, ITestOutputHelper output) : IClassFixture<SdxlPipelineFixture>
{
    private SdxlPipeline P => fixture.Pipeline;

    [Theory]
    [InlineData("tlora", "reference_tlora_adapter.safetensors", AdapterMethod.TLoRA)]
    [InlineData("vanilla", "reference_vanilla_tlora_adapter.safetensors", AdapterMethod.VanillaTLoRA)]
    public void Training_step_matches_output_loss_and_every_gradient(string prefix, string adapterFile, AdapterMethod method)
    {
        using var scope = torch.NewDisposeScope();
        var mask = ReferenceOutputs.Read($"{prefix}.mask");
        using var network = AdapterFile.Load(P.unet, Path.Combine(FixturePaths.SdxlTiny, adapterFile),
            defaultMinRank: ReferenceOutputs.AdapterRanks.MinRank);
        Assert.Equal(method, network.Spec.Method);
        // the fixture gives the mask used; it must be the schedule's mask at the reference timestep
        var t = ReferenceOutputs.Read($"{prefix}.t");
        using (var scheduled = network.Schedule.Mask([t.ItemDouble()])) Assert.Equal(mask.ToArray<float>(), scheduled.ToArray<float>());
        network.SetMask(mask.clone());
        var prediction = P.Predict(ReferenceOutputs.Read($"{prefix}.noisy"), t, ReferenceOutputs.Read("text.prompt_embeds"),
            ReferenceOutputs.Read("text.pooled"), ReferenceOutputs.Read("unet.time_ids"));
        Report(Parity.AssertClose(ReferenceOutputs.Read($"{prefix}.out"), prediction, $"{prefix}.out"));
        var loss = torch.nn.functional.mse_loss(prediction, ReferenceOutputs.Read($"{prefix}.noise"));
        Report(Parity.AssertClose(ReferenceOutputs.Read($"{prefix}.loss").reshape(), loss, $"{prefix}.loss"));
        OneDnn.Backward(loss);
        var worst = 0.0;
        var count = 0;
        foreach (var (key, tensor) in network.StateDict())
        {
            if (!tensor.requires_grad) continue;
            var grad = tensor.grad;
            Assert.True(grad is not null, $"{key} has no gradient");
            var e = Parity.AssertClose(ReferenceOutputs.Read($"{prefix}.grad.{key}"), grad!, $"{prefix}.grad.{key}", rel: 1e-3, abs: 0);
            worst = Math.Max(worst, e.Relative);
            count++;
        }
        Assert.Equal(network.TrainableParameters.Count, count);
        output.WriteLine($"{prefix}.grad.*: {count} tensors, worst relative error {worst:E2}");
    }

    [Fact]
    public void TLoRA_with_every_rank_at_t0_matches_the_reference()
    {
        using var scope = torch.NewDisposeScope();
        var (rank, minRank) = ReferenceOutputs.AdapterRanks;
        using var network = AdapterFile.Load(P.unet, Path.Combine(FixturePaths.SdxlTiny, "reference_tlora_adapter.safetensors"),
            defaultMinRank: minRank);
        Assert.Equal(rank, network.Spec.Rank);
        network.SetTimesteps([0]);
        Assert.Equal(Enumerable.Repeat(1f, rank), network.Mask.Current!.ToArray<float>());
        using var noGrad = torch.no_grad();
        var prediction = P.Predict(ReferenceOutputs.Read("tlora.noisy"), torch.tensor(new long[] { 0 }), ReferenceOutputs.Read("text.prompt_embeds"),
            ReferenceOutputs.Read("text.pooled"), ReferenceOutputs.Read("unet.time_ids"));
        Report(Parity.AssertClose(ReferenceOutputs.Read("tlora.out_t0_fullmask"), prediction, "tlora.out_t0_fullmask"));
    }

    [Fact]
    public void Euler_schedule_of_the_sample_matches()
    {
        using var scope = torch.NewDisposeScope();
        var scheduler = new TLoRA.Engine.Schedulers.EulerDiscreteScheduler(P.SchedulerConfig);
        scheduler.SetTimesteps(4);
        Parity.AssertClose(ReferenceOutputs.Read("sample.timesteps"), scheduler.TimestepsTensor(), "sample.timesteps", rel: 0, abs: 0);
        Parity.AssertClose(ReferenceOutputs.Read("sample.sigmas"), scheduler.SigmasTensor(), "sample.sigmas", rel: 0, abs: 0);
    }

    [Fact]
    public void Four_step_euler_sample_matches_latents_and_image()
    {
        using var scope = torch.NewDisposeScope();
        var noise = ReferenceOutputs.Read("sample.initial_noise");
        var options = new SampleOptions(["a photo of sks dog"], null, 5.0, 4, 0, (int)noise.size(-1) * P.ResolutionMultiple,
            (int)noise.size(-2) * P.ResolutionMultiple);
        using var embeds = P.text.Encode(options.Prompts[0], negative_prompt: null);
        var latents = new SdxlSampler(P).Denoise(noise, embeds, options, null, null, default);
        Report(Parity.AssertClose(ReferenceOutputs.Read("sample.final_latents"), latents, "sample.final_latents", rel: 1e-3, abs: 0));
        // the reference is the VAE's raw decode (output_type="pt" before post-processing)
        Report(Parity.AssertClose(ReferenceOutputs.Read("sample.image"), P.DecodeRaw(latents), "sample.image", rel: 1e-3, abs: 0));
        var image = P.Decode(latents);
        Assert.InRange(image.amin().ItemDouble(), 0, 1);
        Assert.InRange(image.amax().ItemDouble(), 0, 1);
    }

    private void Report(ParityError e) => output.WriteLine(e.ToString());
}
