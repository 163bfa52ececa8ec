using TLoRA.Engine.Adapters;
using TLoRA.Engine.Flux;
using TLoRA.Engine.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Pipelines;

/// <summary>
/// FLUX sampling as FluxPipeline.__call__ (and the official TLoRAFluxPipeline with an adapter): per prompt, latents ~
/// N(0, 1) [n, in_channels/4, h, w] from a seeded generator, packed 2×2; sigmas = linspace(1, 1/steps, steps) shifted
/// by μ = calculate_shift(image_seq_len) from the scheduler config; each step the transformer at timestep t/1000 with
/// the guidance embedding (<see cref="SampleOptions.GuidanceScale"/>), then a flow-match Euler step; finally unpack,
/// / scaling_factor + shift_factor and the VAE decode. There is no classifier-free guidance: diffusers' true CFG only
/// runs with true_cfg_scale &gt; 1, whose default 1 this mirrors, so <see cref="SampleOptions.NegativePrompt"/> is not
/// used. With an adapter the rank mask is recomputed from each step's timestep.
/// </summary>
internal sealed class FluxSampler(FluxPipeline pipeline)
{
    public Tensor Sample(SampleOptions o, AdapterNetwork? network, IProgress<SampleProgress>? progress, CancellationToken cancellation)
    {
        SdxlSampler.Validate(o, pipeline.ResolutionMultiple);
        var images = new List<Tensor>();
        var previousScale = network?.Scale;
        try
        {
            if (network is not null) network.Scale = o.AdapterScale;
            var generator = new Generator(o.Seed);
            var total = o.Prompts.Count * o.ImagesPerPrompt;
            var (h, w) = FluxLatents.LatentSize(o.Height, o.Width, pipeline.VaeScaleFactor);
            var channels = pipeline.transformer.config.in_channels / 4;
            for (var p = 0; p < o.Prompts.Count; p++)
            {
                using var noGrad = torch.no_grad();
                using var scope = torch.NewDisposeScope();
                using var embeds = pipeline.text.Encode(o.Prompts[p], maxSequenceLength: pipeline.MaxSequenceLength);
                var noise = torch.randn([o.ImagesPerPrompt, channels, h, w], dtype: ScalarType.Float32, device: pipeline.Device, generator: generator);
                var latents = Denoise(FluxLatents.Pack(noise), embeds, o, network,
                    (step, t, _) => progress?.Report(new SampleProgress(p * o.ImagesPerPrompt, total, step, o.Steps, t)), cancellation);
                images.Add(pipeline.Decode(latents, o.Height, o.Width).MoveToOuterDisposeScope());
            }
            return torch.cat(images, 0);
        }
        finally
        {
            foreach (var i in images) i.Dispose();
            if (network is not null && previousScale is { } s) network.Scale = s;
        }
    }

    /// <summary>The denoising loop from given packed initial latents [n, (h/2)·(w/2), 4C] (unscaled N(0, 1) draws) for
    /// an image of o.Height×o.Width; returns the final packed latents (float32). <paramref name="onStep"/> receives the
    /// step number (from 1), its timestep and the latents after it (borrowed: valid during the call).</summary>
    public Tensor Denoise(Tensor packedLatents, FluxPromptEmbeds embeds, SampleOptions o, AdapterNetwork? network,
        Action<int, double, Tensor>? onStep, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(packedLatents);
        ArgumentNullException.ThrowIfNull(embeds);
        var (h, w) = FluxLatents.LatentSize(o.Height, o.Width, pipeline.VaeScaleFactor);
        if (packedLatents.dim() != 3 || packedLatents.size(1) != (long)(h / 2) * (w / 2))
            throw new ArgumentException($"packed latents [{string.Join(", ", packedLatents.shape)}] do not fit a {o.Width}×{o.Height} image " +
                                        $"({h / 2}×{w / 2} patches)", nameof(packedLatents));
        using var scope = torch.NewDisposeScope();
        var batch = packedLatents.size(0);
        var scheduler = new FlowMatchEulerDiscreteScheduler(pipeline.SchedulerConfig);
        var mu = scheduler.Mu((int)packedLatents.size(1)); // image_seq_len = packed tokens
        scheduler.SetTimesteps(FlowMatchEulerDiscreteScheduler.PipelineSigmas(o.Steps), mu);
        var imageIds = FluxLatents.ImageIds(h / 2, w / 2, ScalarType.Float32, pipeline.Device);
        // torch.full([1], guidance_scale, dtype=float32).expand(batch)
        var guidance = torch.full([batch], Sc((float)o.GuidanceScale), ScalarType.Float32, pipeline.Device);
        var latents = packedLatents.to(ScalarType.Float32, pipeline.Device);
        for (var i = 0; i < scheduler.Timesteps.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            using var step = torch.NewDisposeScope();
            var t = scheduler.Timesteps[i];
            using var call = network?.BeginCall([t]);
            var timestep = torch.full([batch], Sc(t), ScalarType.Float32, pipeline.Device) / Sc(1000.0); // t.expand(B) / 1000
            var prediction = pipeline.Predict(latents, timestep, guidance, embeds, imageIds);
            var next = scheduler.Step(prediction, t, latents).MoveToOuterDisposeScope();
            if (!ReferenceEquals(latents, packedLatents)) latents.Dispose(); // else one tensor per step piles up
            latents = next;
            onStep?.Invoke(i + 1, t, latents);
        }
        return latents.MoveToOuterDisposeScope();
    }
}
