using TLoRA.Engine.Adapters;
using TLoRA.Engine.Flux;
using TLoRA.Engine.IO;
using TLoRA.Engine.Schedulers;
using TLoRA.Engine.Vae;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Pipelines;

/// <summary>
/// diffusers' FluxPipeline (FLUX.1-dev) for T-LoRA: CLIP-L pooled + T5 conditioning, the
/// <see cref="FluxTransformer2DModel"/> on 2×2-packed latents, the 16-channel VAE with shift and scale, the
/// flow-matching training step of the official FLUX T-LoRA trainer (uniform σ from the training schedule, velocity
/// target noise − x0, MSE, guidance embedding 1) and flow-match Euler sampling with the guidance embedding and no
/// classifier-free guidance. Frozen weights may be bf16/f16; adapters train in fp32.
/// </summary>
public sealed class FluxPipeline : IDiffusionPipeline
{
    /// <summary>model_index.json's _class_name for FLUX.</summary>
    public const string ClassName = "FluxPipeline";

    /// <summary>The official trainer's guidance: args.guidance_scale defaults to the int 1, so the guidance tensor is
    /// int64 [1]; the transformer casts it to its dtype and multiplies by 1000.</summary>
    public const long TrainerGuidance = 1;

    /// <summary>The projections the official FLUX T-LoRA code adapts (in <see cref="TLoRAAttentionProcessor.KeyOf"/>
    /// order): to_q, to_k, to_v everywhere, to_out.0 and add_q/k/v_proj in the double-stream blocks.</summary>
    public static readonly IReadOnlyList<string> AttentionProjections = ["to_q", "to_k", "to_v", "to_out", "add_q_proj", "add_k_proj", "add_v_proj"];

    private FluxPipeline(string name, FluxPromptEncoder text, FluxTransformer2DModel transformer, AutoencoderKL vae, SchedulerConfig scheduler,
        Device device, int maxSequenceLength)
    {
        Name = name;
        this.text = text;
        this.transformer = transformer;
        this.vae = vae;
        SchedulerConfig = scheduler;
        NoiseScheduler = new FlowMatchEulerDiscreteScheduler(scheduler);
        Device = device;
        MaxSequenceLength = maxSequenceLength;
    }

    /// <summary>The model's name (its folder name).</summary>
    public string Name { get; }
    /// <summary>CLIP and T5 with their tokenizers.</summary>
    public readonly FluxPromptEncoder text;
    /// <summary>The denoiser.</summary>
    public readonly FluxTransformer2DModel transformer;
    /// <summary>The VAE (latents are (z − shift_factor)·scaling_factor).</summary>
    public readonly AutoencoderKL vae;
    /// <summary>scheduler/scheduler_config.json.</summary>
    public SchedulerConfig SchedulerConfig { get; }
    /// <summary>The training schedule (the trainer's copy of the pipeline's FlowMatchEulerDiscreteScheduler).</summary>
    public FlowMatchEulerDiscreteScheduler NoiseScheduler { get; }
    /// <summary>Where the models live.</summary>
    public Device Device { get; }
    /// <summary>T5's max_sequence_length for training and sampling (FLUX.1-dev: 512).</summary>
    public int MaxSequenceLength { get; }
    /// <summary>The transformer, where adapters attach.</summary>
    public Module Denoiser => transformer;
    /// <summary>The official FLUX rank schedule: linear in t, float32, no α.</summary>
    public RankScheduleKind ScheduleKind => RankScheduleKind.Linear;
    /// <summary><see cref="AttentionProjections"/>.</summary>
    public IReadOnlyList<string> AdapterProjections => AttentionProjections;
    /// <summary>FluxPipeline's vae_scale_factor, 2^(len(block_out_channels) − 1).</summary>
    public int VaeScaleFactor => FluxLatents.VaeScaleFactor(vae.config);
    /// <summary>The VAE's downscale times the 2×2 packing.</summary>
    public int ResolutionMultiple => VaeScaleFactor * 2;
    /// <summary>The official trainer's vae_scale_factor = 2^len(block_out_channels) (16 for FLUX.1's VAE, twice the
    /// pipeline's). It only unpacks the prediction, with height = latent height · this factor, which gives back the
    /// latent height; the image ids are built from the latent size / 2 as in the pipeline.</summary>
    public int TrainerVaeScaleFactor => 1 << vae.config.block_out_channels.Length;
    /// <summary>The native resolution: the VAE config's sample_size (FLUX.1-dev: 1024), or 1024 when absent, rounded
    /// down to a multiple of <see cref="ResolutionMultiple"/>. (FLUX's transformer config has no sample_size.)</summary>
    public int NativeResolution => Math.Max(ResolutionMultiple, (vae.config.sample_size ?? 1024) / ResolutionMultiple * ResolutionMultiple);
    /// <summary>The dtype of the transformer's frozen weights (its inputs are cast to it).</summary>
    public ScalarType TransformerDtype => transformer.x_embedder.weight.dtype;

    /// <summary>Loads a diffusers FLUX folder (model_index.json class FluxPipeline). Frozen weights in
    /// <paramref name="dtype"/>; <paramref name="maxSequenceLength"/> is T5's sequence length (512 for FLUX.1-dev).</summary>
    public static FluxPipeline Load(string folder, ScalarType dtype = ScalarType.Float32, Device? device = null,
        int maxSequenceLength = FluxPromptEncoder.DefaultMaxSequenceLength) =>
        Load(folder, dtype, device, maxSequenceLength, null);

    /// <summary>As <see cref="Load(string, ScalarType, Device?, int)"/>, with the transformer built by
    /// <paramref name="transformerFactory"/> instead of loaded (benchmarks: another size with the folder's encoders and VAE).</summary>
    public static FluxPipeline Load(string folder, ScalarType dtype, Device? device, int maxSequenceLength,
        Func<FluxTransformer2DModel>? transformerFactory)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequenceLength, 1);
        var index = ModelIndex.Load(folder);
        if (index.ClassName != ClassName)
            throw new ArgumentException($"'{folder}' holds a {index.ClassName}, not a FLUX pipeline ({ClassName})");
        var dev = device ?? torch.CPU;
        var disposables = new List<IDisposable>();
        try
        {
            var text = FluxPromptEncoder.Load(folder, dtype, dev);
            disposables.Add(text);
            var transformer = transformerFactory?.Invoke() ?? FluxTransformer2DModel.Load(Path.Combine(folder, index["transformer"].Name), dtype, dev);
            disposables.Add(transformer);
            var vae = AutoencoderKL.Load(Path.Combine(folder, index["vae"].Name), dtype, dev);
            disposables.Add(vae);
            var scheduler = SchedulerConfig.Load(Path.Combine(folder, index["scheduler"].Name));
            foreach (var m in new Module[] { transformer, vae }) m.requires_grad_(false).eval();
            var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));
            return new FluxPipeline(name, text, transformer, vae, scheduler, dev, maxSequenceLength);
        }
        catch
        {
            foreach (var d in disposables) d.Dispose();
            throw;
        }
    }

    /// <summary>The transformer's velocity prediction [B, N, C] for packed latents at <paramref name="timestep"/> (σ
    /// scale, [B]); inputs are cast to the transformer's dtype, the output comes back as float32.</summary>
    public Tensor Predict(Tensor packedLatents, Tensor timestep, Tensor? guidance, FluxPromptEmbeds conditioning, Tensor imageIds)
    {
        var dtype = TransformerDtype;
        using var scope = torch.NewDisposeScope();
        var batch = packedLatents.size(0);
        var context = Batch(conditioning.prompt_embeds, batch).to(dtype, Device);
        var pooled = Batch(conditioning.pooled_prompt_embeds, batch).to(dtype, Device);
        var guide = transformer.config.guidance_embeds ? guidance : null;
        var output = transformer.forward(packedLatents.to(dtype, Device), context, pooled, timestep, imageIds, conditioning.text_ids, guide);
        return output.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    private static Tensor Batch(Tensor t, long batch) => t.size(0) == batch ? t.alias() : t.repeat_interleave(batch / t.size(0), 0);

    /// <summary>Encodes the concept image (the VAE posterior, sampled afresh every step) and the prompt once.</summary>
    public ITrainingExample PrepareTraining(ConceptImage image, string prompt)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        using var posterior = vae.encode(image.Pixels.to(Device));
        using var embeds = text.Encode(prompt, maxSequenceLength: MaxSequenceLength);
        var conditioning = new FluxPromptEmbeds(embeds.prompt_embeds.to(TransformerDtype).MoveToOuterDisposeScope(),
            embeds.pooled_prompt_embeds.to(TransformerDtype).MoveToOuterDisposeScope(), embeds.text_ids.clone().MoveToOuterDisposeScope());
        return new FluxTrainingExample(posterior.mean.to(ScalarType.Float32).MoveToOuterDisposeScope(),
            posterior.std.to(ScalarType.Float32).MoveToOuterDisposeScope(), conditioning);
    }

    /// <summary>One step of the official trainer: z = posterior sample, x0 = (z − shift)·scale, noise ~ N(0, 1),
    /// u ~ U[0, 1) → (σ, t) of the training schedule, in that order from <paramref name="generator"/>; then
    /// <see cref="TrainingStep"/>.</summary>
    public (Tensor Loss, double Timestep) TrainingLoss(ITrainingExample example, AdapterNetwork network, Generator generator)
    {
        var ex = (FluxTrainingExample)example;
        using var scope = torch.NewDisposeScope();
        var eps = torch.randn(ex.Mean.shape, dtype: ScalarType.Float32, device: Device, generator: generator);
        var x0 = ModelInput(ex.Mean.Plus(ex.Std * eps));
        var noise = torch.randn(x0.shape, dtype: ScalarType.Float32, device: Device, generator: generator);
        var (sigma, timestep) = NoiseScheduler.SampleTrainingSigma(generator);
        var step = TrainingStep(ex.Conditioning, x0, noise, sigma, timestep, network);
        return (step.Loss.MoveToOuterDisposeScope(), timestep);
    }

    /// <summary>The trainer's latents from a posterior sample: (z − shift_factor) · scaling_factor.</summary>
    public Tensor ModelInput(Tensor posteriorSample)
    {
        var shift = vae.config.shift_factor ?? 0.0;
        using var scope = torch.NewDisposeScope();
        return ((posteriorSample.to(ScalarType.Float32) - Sc(shift)) * Sc(vae.config.scaling_factor)).MoveToOuterDisposeScope();
    }

    /// <summary>The training step from given draws: the rank mask for t (σ·T, float32), noisy = (1 − σ)·x0 + σ·noise,
    /// packed 2×2, transformer(timestep = t/1000, guidance = <see cref="TrainerGuidance"/>), unpacked, target =
    /// noise − x0, MSE. With autograd (the adapters' gradients flow from the loss).</summary>
    public FluxTrainingOutput TrainingStep(FluxPromptEmbeds conditioning, Tensor x0, Tensor noise, float sigma, float timestep, AdapterNetwork? network)
    {
        ArgumentNullException.ThrowIfNull(conditioning);
        ArgumentNullException.ThrowIfNull(x0);
        if (x0.dim() != 4) throw new ArgumentException($"x0 must be [B, C, H, W], not [{string.Join(", ", x0.shape)}]", nameof(x0));
        using var scope = torch.NewDisposeScope();
        using var call = network?.BeginCall([timestep]); // one model call: ends before backward
        long batch = x0.size(0), height = x0.size(2), width = x0.size(3);
        var noisy = FlowMatchEulerDiscreteScheduler.AddNoise(x0, noise, sigma);
        var packed = FluxLatents.Pack(noisy);
        var imageIds = FluxLatents.ImageIds((int)height / 2, (int)width / 2, ScalarType.Float32, Device);
        var guidance = torch.full([batch], Sc((long)TrainerGuidance), ScalarType.Int64, Device);
        var t = torch.full([batch], Sc(timestep), ScalarType.Float32, Device) / Sc(1000.0); // timesteps / 1000 in float32
        var output = Predict(packed, t, guidance, conditioning, imageIds);
        var factor = TrainerVaeScaleFactor;
        var prediction = FluxLatents.Unpack(output, (int)height * factor, (int)width * factor, factor);
        var target = noise.to(ScalarType.Float32) - x0;
        var loss = torch.nn.functional.mse_loss(prediction, target);
        return new FluxTrainingOutput(output.MoveToOuterDisposeScope(), prediction.MoveToOuterDisposeScope(), target.MoveToOuterDisposeScope(),
            loss.MoveToOuterDisposeScope());
    }

    /// <summary>Images [N, 3, H, W] in [0, 1] (see <see cref="FluxSampler"/>).</summary>
    public Tensor Sample(SampleOptions options, AdapterNetwork? network, IProgress<SampleProgress>? progress, CancellationToken cancellation) =>
        new FluxSampler(this).Sample(options, network, progress, cancellation);

    /// <summary>Packed latents → images in [0, 1] ([N, 3, H, W] float32 on the CPU) for an image of
    /// <paramref name="height"/>×<paramref name="width"/> pixels.</summary>
    public Tensor Decode(Tensor packedLatents, int height, int width)
    {
        using var image = DecodeRaw(packedLatents, height, width);
        using var scope = torch.NewDisposeScope();
        return (image / Sc(2.0)).Plus(Sc(0.5)).clamp(Sc(0.0), Sc(1.0)).MoveToOuterDisposeScope();
    }

    /// <summary>FluxPipeline's decode, unclamped (about [−1, 1]), float32 on the CPU: unpack, / scaling_factor +
    /// shift_factor, vae.decode.</summary>
    public Tensor DecodeRaw(Tensor packedLatents, int height, int width)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var z = FluxLatents.Unpack(packedLatents, height, width, VaeScaleFactor) / Sc(vae.config.scaling_factor);
        if (vae.config.shift_factor is { } shift) z = z.Plus(Sc(shift));
        return vae.decode(z).to(ScalarType.Float32, torch.CPU).MoveToOuterDisposeScope();
    }

    /// <summary>Frees the encoders, the transformer and the VAE.</summary>
    public void Dispose()
    {
        text.Dispose();
        transformer.Dispose();
        vae.Dispose();
    }

    private sealed record FluxTrainingExample(Tensor Mean, Tensor Std, FluxPromptEmbeds Conditioning) : ITrainingExample
    {
        public void Dispose()
        {
            Mean.Dispose();
            Std.Dispose();
            Conditioning.Dispose();
        }
    }
}

/// <summary>What one FLUX training step computed: the transformer's packed output [B, N, C], its unpacked form
/// [B, C', H, W], the target noise − x0 and the MSE loss. Owned by the caller's dispose scope.</summary>
public sealed record FluxTrainingOutput(Tensor PackedPrediction, Tensor Prediction, Tensor Target, Tensor Loss);
