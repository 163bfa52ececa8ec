using TLoRA.Engine.Adapters;
using TLoRA.Engine.Clip;
using TLoRA.Engine.IO;
using TLoRA.Engine.Schedulers;
using TLoRA.Engine.Unet;
using TLoRA.Engine.Vae;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

using static TLoRA.Engine.Common.Scalars;

namespace TLoRA.Engine.Pipelines;

/// <summary>
/// diffusers' StableDiffusionXLPipeline for T-LoRA: the two CLIP encoders, the UNet, the VAE, a DDPM training
/// schedule (ε-prediction MSE at a uniform timestep) and Euler sampling with classifier-free guidance. Frozen weights
/// may be bf16/f16; adapters train in fp32.
/// </summary>
public sealed class SdxlPipeline : IDiffusionPipeline
{
    private SdxlPipeline(string name, SdxlPromptEncoder text, UNet2DConditionModel unet, AutoencoderKL vae, SchedulerConfig scheduler, Device device)
    {
        Name = name;
        this.text = text;
        this.unet = unet;
        this.vae = vae;
        SchedulerConfig = scheduler;
        NoiseScheduler = new DDPMScheduler(scheduler);
        Device = device;
    }

    public const string ClassName = "StableDiffusionXLPipeline";

    public string Name { get; }
    public readonly SdxlPromptEncoder text;
    public readonly UNet2DConditionModel unet;
    public readonly AutoencoderKL vae;
    public SchedulerConfig SchedulerConfig { get; }
    /// <summary>The training schedule (diffusers' trainers build a DDPMScheduler from the pipeline's scheduler config).</summary>
    public DDPMScheduler NoiseScheduler { get; }
    public Device Device { get; }
    public Module Denoiser => unet;
    public RankScheduleKind ScheduleKind => RankScheduleKind.Power;
    public IReadOnlyList<string> AdapterProjections => AdapterSpec.AttentionProjections;
    public int ResolutionMultiple => VaeScale;
    /// <summary>The dtype of the UNet's frozen weights (inputs are cast to it).</summary>
    public ScalarType UnetDtype => unet.conv_in.weight.dtype;
    private int VaeScale => 1 << (vae.config.block_out_channels.Length - 1);

    /// <summary>Loads a diffusers SD-XL folder. Frozen weights in <paramref name="dtype"/> (the VAE stays fp32 when its
    /// config says force_upcast).</summary>
    public static SdxlPipeline Load(string folder, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var index = ModelIndex.Load(folder);
        if (index.ClassName != ClassName)
            throw new ArgumentException($"'{folder}' holds a {index.ClassName}, not an SD-XL pipeline ({ClassName})");
        var dev = device ?? torch.CPU;
        var disposables = new List<IDisposable>();
        try
        {
            var text = SdxlPromptEncoder.Load(folder, dtype, dev);
            disposables.Add(text);
            var unet = UNet2DConditionModel.Load(Path.Combine(folder, "unet"), dtype, dev);
            disposables.Add(unet);
            var vae = AutoencoderKL.Load(Path.Combine(folder, "vae"), dtype, dev);
            disposables.Add(vae);
            var scheduler = SchedulerConfig.Load(Path.Combine(folder, "scheduler"));
            foreach (var m in new Module[] { unet, vae }) m.requires_grad_(false).eval();
            if (scheduler.PredictionType != "epsilon")
                throw new NotSupportedException($"{folder}/scheduler: prediction_type '{scheduler.PredictionType}' is not supported (SD-XL uses epsilon)");
            return new SdxlPipeline(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))), text, unet, vae, scheduler, dev);
        }
        catch
        {
            foreach (var d in disposables) d.Dispose();
            throw;
        }
    }

    /// <summary>The UNet's noise prediction for latents at timestep(s) t with SD-XL conditioning (embeds, pooled, time_ids).</summary>
    public Tensor Predict(Tensor latents, Tensor timestep, Tensor promptEmbeds, Tensor pooled, Tensor timeIds) =>
        unet.forward(latents, timestep, promptEmbeds, pooled, timeIds);

    /// <summary>add_time_ids: original (h, w), crop top-left, target (h, w).</summary>
    public Tensor TimeIds(int originalH, int originalW, int cropTop, int cropLeft, int targetH, int targetW) =>
        torch.tensor(new float[] { originalH, originalW, cropTop, cropLeft, targetH, targetW }, 1, 6).to(UnetDtype, Device);

    public ITrainingExample PrepareTraining(ConceptImage image, string prompt)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        using var posterior = vae.encode(image.Pixels.to(Device));
        using var embeds = text.Encode(prompt, do_classifier_free_guidance: false);
        var r = (int)image.Pixels.size(-1);
        var example = new SdxlTrainingExample(
            posterior.mean.to(ScalarType.Float32).MoveToOuterDisposeScope(),
            posterior.std.to(ScalarType.Float32).MoveToOuterDisposeScope(),
            embeds.prompt_embeds.to(UnetDtype).MoveToOuterDisposeScope(),
            embeds.pooled_prompt_embeds.to(UnetDtype).MoveToOuterDisposeScope(),
            TimeIds(image.OriginalHeight, image.OriginalWidth, image.CropTop, image.CropLeft, (int)image.Pixels.size(-2), r).MoveToOuterDisposeScope());
        return example;
    }

    public (Tensor Loss, double Timestep) TrainingLoss(ITrainingExample example, AdapterNetwork network, Generator generator)
    {
        var ex = (SdxlTrainingExample)example;
        using var scope = torch.NewDisposeScope();
        // the posterior is sampled every step, as the trainers' vae.encode(...).latent_dist.sample() does
        var eps = torch.randn(ex.Mean.shape, dtype: ScalarType.Float32, device: Device, generator: generator);
        var latents = (ex.Mean.Plus(ex.Std * eps)) * Sc(vae.config.scaling_factor);
        var noise = torch.randn(latents.shape, dtype: ScalarType.Float32, device: Device, generator: generator);
        var t = NoiseScheduler.SampleTimesteps(1, generator, Device);
        var noisy = NoiseScheduler.AddNoise(latents, noise, t);
        var timestep = t.ItemDouble();
        using var call = network.BeginCall([timestep]); // one model call: ends before backward
        var prediction = Predict(noisy.to(UnetDtype), t, ex.PromptEmbeds, ex.Pooled, ex.TimeIds);
        var loss = torch.nn.functional.mse_loss(prediction.to(ScalarType.Float32), noise);
        return (loss.MoveToOuterDisposeScope(), timestep);
    }

    public Tensor Sample(SampleOptions options, AdapterNetwork? network, IProgress<SampleProgress>? progress, CancellationToken cancellation) =>
        new SdxlSampler(this).Sample(options, network, progress, cancellation);

    /// <summary>Latents → images in [0, 1] ([N, 3, H, W] float32 on the CPU).</summary>
    public Tensor Decode(Tensor latents)
    {
        using var image = DecodeRaw(latents);
        using var scope = torch.NewDisposeScope();
        return (image / Sc(2.0)).Plus(Sc(0.5)).clamp(Sc(0.0), Sc(1.0)).MoveToOuterDisposeScope();
    }

    /// <summary>The VAE's decode of scaled latents, unclamped (about [-1, 1]), float32 on the CPU.</summary>
    public Tensor DecodeRaw(Tensor latents)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var z = latents / Sc(vae.config.scaling_factor);
        if (vae.config.shift_factor is { } shift) z = z.Plus(Sc(shift));
        return vae.decode(z).to(ScalarType.Float32, torch.CPU).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        text.Dispose();
        unet.Dispose();
        vae.Dispose();
    }

    private sealed record SdxlTrainingExample(Tensor Mean, Tensor Std, Tensor PromptEmbeds, Tensor Pooled, Tensor TimeIds) : ITrainingExample
    {
        public void Dispose()
        {
            foreach (var t in new[] { Mean, Std, PromptEmbeds, Pooled, TimeIds }) t.Dispose();
        }
    }
}
