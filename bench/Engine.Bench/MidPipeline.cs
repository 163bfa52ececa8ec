using TLoRA.Engine.Adapters;
using TLoRA.Engine.Pipelines;
using TLoRA.Engine.Schedulers;
using TLoRA.Engine.Unet;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Bench;

/// <summary>
/// The "mid" config: an SD-XL-shaped UNet at 1/8 width with random weights and random text conditioning, behind the
/// same <see cref="IDiffusionPipeline"/> seam the trainer uses, so the training step is measured through exactly the
/// code path of <see cref="SdxlPipeline.TrainingLoss"/>: DDPM add_noise at a uniform t, the adapters' rank mask for t,
/// the UNet, MSE against the noise. There is no text encoder and no VAE: the "encoded" concept (posterior mean/std of
/// [1, 4, 32, 32] latents, [1, 77, 256] embeds, [1, 160] pooled, time ids) is drawn once from a seeded generator.
/// </summary>
internal sealed class MidPipeline : IDiffusionPipeline
{
    /// <summary>SD-XL base 1.0's UNet config with every width divided by 8 (320/640/1280 → 40/80/160, heads 5/10/20 so
    /// the head dim is 8, text 2048 → 256, pooled 1280 → 160, time-id embedding 256 → 32); SD-XL's block structure and
    /// transformer depths [1, 2, 10] are kept. norm_num_groups 8 because 32 does not divide 40.</summary>
    public static UNet2DConditionModelConfig Config => new()
    {
        sample_size = 32,
        in_channels = 4,
        out_channels = 4,
        down_block_types = ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        mid_block_type = "UNetMidBlock2DCrossAttn",
        up_block_types = ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
        block_out_channels = [40, 80, 160],
        layers_per_block = 2,
        attention_head_dim = new PerBlock<int>([5, 10, 20]), // SD-XL's quirk: the number of heads
        transformer_layers_per_block = new PerBlock<PerBlock<int>>(new PerBlock<int>[] { 1, 2, 10 }),
        cross_attention_dim = ContextDim,
        norm_num_groups = 8,
        use_linear_projection = true,
        addition_embed_type = "text_time",
        addition_time_embed_dim = 32,
        projection_class_embeddings_input_dim = PooledDim + 6 * 32,
    };

    public const int ContextDim = 256;
    public const int PooledDim = 160;
    public const int TokenCount = 77;
    /// <summary>The image size the latents stand for (VAE scale 8 → 32×32 latents).</summary>
    public const int ImageSize = 256;
    private const int VaeScale = 8;
    private const double ScalingFactor = 0.13025; // SD-XL's VAE scaling factor

    private MidPipeline(UNet2DConditionModel unet, SchedulerConfig scheduler, Device device)
    {
        this.unet = unet;
        SchedulerConfig = scheduler;
        NoiseScheduler = new DDPMScheduler(scheduler);
        Device = device;
    }

    public readonly UNet2DConditionModel unet;
    public SchedulerConfig SchedulerConfig { get; }
    public DDPMScheduler NoiseScheduler { get; }
    public string Name => "sdxl-mid-random";
    public Module Denoiser => unet;
    public Device Device { get; }
    public RankScheduleKind ScheduleKind => RankScheduleKind.Power;
    public IReadOnlyList<string> AdapterProjections => AdapterSpec.AttentionProjections;
    public int ResolutionMultiple => VaeScale;
    public ScalarType UnetDtype => unet.conv_in.weight.dtype;

    /// <summary>Builds the UNet with seeded random weights (frozen, eval mode) and the fixture's scheduler config.</summary>
    public static MidPipeline Create(string schedulerFolder, ScalarType dtype, Device device, ulong seed = 0)
    {
        torch.manual_seed(unchecked((long)seed)); // the layers' default init draws from the global generator
        var unet = new UNet2DConditionModel(Config, device: device, dtype: dtype);
        unet.requires_grad_(false).eval();
        return new MidPipeline(unet, SchedulerConfig.Load(schedulerFolder), device);
    }

    /// <summary>A stand-in concept image of the right size (its pixels are not used).</summary>
    public static ConceptImage DummyImage() => new(torch.zeros([1, 3, ImageSize, ImageSize]), ImageSize, ImageSize, 0, 0);

    /// <summary>"Encodes" the concept: random posterior and conditioning of SD-XL's shapes at this width.</summary>
    public ITrainingExample PrepareTraining(ConceptImage image, string prompt)
    {
        using var scope = torch.NewDisposeScope();
        var g = new Generator(1234);
        var latentSize = image.Pixels.size(-1) / VaeScale;
        long[] latentShape = [1, 4, latentSize, latentSize];
        // posterior mean ≈ N(0, 1/scaling²) so the scaled latents are about unit variance, as SD-XL's are
        var mean = torch.randn(latentShape, dtype: ScalarType.Float32, device: Device, generator: g) * Sc(1.0 / ScalingFactor);
        var std = torch.full(latentShape, Sc(0.05), ScalarType.Float32, Device);
        var (embeds, pooled) = RandomConditioning(g, 1);
        var timeIds = TimeIds((int)image.Pixels.size(-2), (int)image.Pixels.size(-1), 1);
        return new Example(mean.MoveToOuterDisposeScope(), std.MoveToOuterDisposeScope(), embeds.MoveToOuterDisposeScope(),
            pooled.MoveToOuterDisposeScope(), timeIds.MoveToOuterDisposeScope());
    }

    /// <summary>The same steps as <see cref="SdxlPipeline.TrainingLoss"/>, line for line.</summary>
    public (Tensor Loss, double Timestep) TrainingLoss(ITrainingExample example, AdapterNetwork network, Generator generator)
    {
        var ex = (Example)example;
        using var scope = torch.NewDisposeScope();
        var eps = torch.randn(ex.Mean.shape, dtype: ScalarType.Float32, device: Device, generator: generator);
        var latents = ex.Mean.Plus(ex.Std * eps) * Sc(ScalingFactor);
        var noise = torch.randn(latents.shape, dtype: ScalarType.Float32, device: Device, generator: generator);
        var t = NoiseScheduler.SampleTimesteps(1, generator, Device);
        var noisy = NoiseScheduler.AddNoise(latents, noise, t);
        var timestep = t.ItemDouble();
        using var call = network.BeginCall([timestep]); // one model call: ends before backward
        var prediction = unet.forward(noisy.to(UnetDtype), t, ex.PromptEmbeds, ex.Pooled, ex.TimeIds);
        var loss = torch.nn.functional.mse_loss(prediction.to(ScalarType.Float32), noise);
        return (loss.MoveToOuterDisposeScope(), timestep);
    }

    /// <summary>Not available: there is no text encoder or VAE. <see cref="Denoise"/> runs the UNet part.</summary>
    public Tensor Sample(SampleOptions options, AdapterNetwork? network, IProgress<SampleProgress>? progress, CancellationToken cancellation) =>
        throw new NotSupportedException("the mid config has no text encoders or VAE; use Denoise");

    /// <summary>
    /// SdxlSampler.Denoise for one image with classifier-free guidance (UNet batch 2: [uncond, cond]) on random
    /// conditioning: Euler steps from N(0, 1)·init_noise_sigma, the adapters' rank mask following each step's
    /// timestep. <paramref name="onStep"/> runs after each step (the caller times it).
    /// </summary>
    public void Denoise(int steps, double guidance, AdapterNetwork? network, ulong seed, Action<int>? onStep)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var g = new Generator(seed);
        var scheduler = new EulerDiscreteScheduler(SchedulerConfig);
        scheduler.SetTimesteps(steps);
        var dtype = UnetDtype;
        var size = ImageSize / VaeScale;
        var latents = torch.randn([1, 4, size, size], dtype: ScalarType.Float32, device: Device, generator: g) * Sc(scheduler.InitNoiseSigma);
        var (context, pooled) = RandomConditioning(g, 2); // [uncond, cond]
        var timeIds = TimeIds(ImageSize, ImageSize, 2);
        for (var i = 0; i < scheduler.Timesteps.Count; i++)
        {
            using var step = torch.NewDisposeScope();
            var t = scheduler.Timesteps[i];
            using var call = network?.BeginCall([t]);
            var input = scheduler.ScaleModelInput(torch.cat([latents, latents], 0), t);
            var tt = torch.tensor(new[] { t }).to(Device);
            var prediction = unet.forward(input.to(dtype), tt, context, pooled, timeIds).to(ScalarType.Float32);
            prediction = ClassifierFreeGuidance.Combine(prediction, guidance);
            var next = scheduler.Step(prediction, t, latents).MoveToOuterDisposeScope();
            latents.Dispose();
            latents = next;
            onStep?.Invoke(i + 1);
        }
    }

    private (Tensor Embeds, Tensor Pooled) RandomConditioning(Generator g, int batch) =>
        (torch.randn([batch, TokenCount, ContextDim], dtype: ScalarType.Float32, device: Device, generator: g).to(UnetDtype),
         torch.randn([batch, PooledDim], dtype: ScalarType.Float32, device: Device, generator: g).to(UnetDtype));

    private Tensor TimeIds(int h, int w, int batch) =>
        torch.tensor(new float[] { h, w, 0, 0, h, w }, 1, 6).repeat(batch, 1).to(UnetDtype, Device);

    public void Dispose() => unet.Dispose();

    private sealed record Example(Tensor Mean, Tensor Std, Tensor PromptEmbeds, Tensor Pooled, Tensor TimeIds) : ITrainingExample
    {
        public void Dispose()
        {
            foreach (var t in new[] { Mean, Std, PromptEmbeds, Pooled, TimeIds }) t.Dispose();
        }
    }
}
