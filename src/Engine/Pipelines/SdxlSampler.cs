using TLoRA.Engine.Adapters;
using TLoRA.Engine.Clip;
using TLoRA.Engine.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Pipelines;

/// <summary>
/// SD-XL sampling as StableDiffusionXLPipeline.__call__: per prompt, latents ~ N(0, 1)·init_noise_sigma from a seeded
/// generator, Euler steps with the UNet on [uncond, cond] and guidance uncond + g·(cond − uncond), add_time_ids
/// (H, W, 0, 0, H, W), then the VAE decode. With an adapter the rank mask follows each step's timestep.
/// </summary>
internal sealed class SdxlSampler(SdxlPipeline pipeline)
{
    public Tensor Sample(SampleOptions o, AdapterNetwork? network, IProgress<SampleProgress>? progress, CancellationToken cancellation)
    {
        Validate(o, pipeline.ResolutionMultiple);
        var images = new List<Tensor>();
        var previousScale = network?.Scale;
        try
        {
            if (network is not null) network.Scale = o.AdapterScale;
            var generator = new Generator(o.Seed);
            var total = o.Prompts.Count * o.ImagesPerPrompt;
            for (var p = 0; p < o.Prompts.Count; p++)
            {
                using var noGrad = torch.no_grad();
                using var scope = torch.NewDisposeScope();
                var guided = o.GuidanceScale > 1.0;
                using var embeds = pipeline.text.Encode(o.Prompts[p], do_classifier_free_guidance: guided, negative_prompt: o.NegativePrompt);
                var scale = pipeline.ResolutionMultiple;
                var channels = pipeline.unet.config.in_channels;
                var noise = torch.randn([o.ImagesPerPrompt, channels, o.Height / scale, o.Width / scale], dtype: ScalarType.Float32, device: pipeline.Device, generator: generator);
                var latents = Denoise(noise, embeds, o, network,
                    (step, t) => progress?.Report(new SampleProgress(p * o.ImagesPerPrompt, total, step, o.Steps, t)), cancellation);
                images.Add(pipeline.Decode(latents).MoveToOuterDisposeScope());
            }
            return torch.cat(images, 0);
        }
        finally
        {
            foreach (var i in images) i.Dispose();
            if (network is not null && previousScale is { } s) network.Scale = s;
        }
    }

    /// <summary>The denoising loop from given initial noise (unscaled N(0, 1) draws); returns the final latents.</summary>
    public Tensor Denoise(Tensor noise, SdxlPromptEmbeds embeds, SampleOptions o, AdapterNetwork? network, Action<int, double>? onStep,
        CancellationToken cancellation)
    {
        using var scope = torch.NewDisposeScope();
        var scheduler = new EulerDiscreteScheduler(pipeline.SchedulerConfig);
        scheduler.SetTimesteps(o.Steps);
        var n = noise.size(0);
        var dtype = pipeline.UnetDtype;
        var latents = noise * Sc(scheduler.InitNoiseSigma);
        var guided = embeds.negative_prompt_embeds is not null;
        var context = guided ? torch.cat([embeds.negative_prompt_embeds!, embeds.prompt_embeds], 0) : embeds.prompt_embeds;
        var pooled = guided ? torch.cat([embeds.negative_pooled_prompt_embeds!, embeds.pooled_prompt_embeds], 0) : embeds.pooled_prompt_embeds;
        var copies = guided ? 2 * n : n;
        context = context.repeat_interleave(n, 0).to(dtype);
        pooled = pooled.repeat_interleave(n, 0).to(dtype);
        var timeIds = pipeline.TimeIds(o.Height, o.Width, 0, 0, o.Height, o.Width).repeat(copies, 1);
        for (var i = 0; i < scheduler.Timesteps.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            using var step = torch.NewDisposeScope();
            var t = scheduler.Timesteps[i];
            using var call = network?.BeginCall([t]);
            var input = guided ? torch.cat([latents, latents], 0) : latents;
            input = scheduler.ScaleModelInput(input, t);
            var tt = torch.tensor(new[] { t }).to(pipeline.Device);
            var prediction = pipeline.Predict(input.to(dtype), tt, context, pooled, timeIds).to(ScalarType.Float32);
            if (guided) prediction = ClassifierFreeGuidance.Combine(prediction, o.GuidanceScale);
            var next = scheduler.Step(prediction, t, latents).MoveToOuterDisposeScope();
            latents.Dispose(); // the previous step's latents: one tensor per step would pile up until the call ends
            latents = next;
            onStep?.Invoke(i + 1, t);
        }
        return latents.MoveToOuterDisposeScope();
    }

    internal static void Validate(SampleOptions o, int multiple)
    {
        if (o.Prompts.Count == 0) throw new ArgumentException("Prompts: give at least one prompt", nameof(o));
        if (o.Steps is < 1 or > 1000) throw new ArgumentOutOfRangeException(nameof(o), o.Steps, "Steps must be in 1..1000");
        if (o.Width <= 0 || o.Height <= 0 || o.Width % multiple != 0 || o.Height % multiple != 0)
            throw new ArgumentOutOfRangeException(nameof(o), $"{o.Width}×{o.Height}", $"Width and Height must be positive multiples of {multiple}");
        if (o.ImagesPerPrompt is < 1 or > 64) throw new ArgumentOutOfRangeException(nameof(o), o.ImagesPerPrompt, "ImagesPerPrompt must be in 1..64");
        if (o.GuidanceScale < 0) throw new ArgumentOutOfRangeException(nameof(o), o.GuidanceScale, "GuidanceScale must be ≥ 0");
    }
}
