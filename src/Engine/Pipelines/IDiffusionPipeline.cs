using TLoRA.Engine.Adapters;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace TLoRA.Engine.Pipelines;

/// <summary>Settings of one sampling call.</summary>
public sealed record SampleOptions(
    IReadOnlyList<string> Prompts,
    string? NegativePrompt = null,
    double GuidanceScale = 5.0,
    int Steps = 25,
    ulong Seed = 0,
    int Width = 1024,
    int Height = 1024,
    int ImagesPerPrompt = 1,
    double AdapterScale = 1.0);

/// <summary>Progress of a sampling call: denoising step of the current image batch.</summary>
public sealed record SampleProgress(int Image, int Images, int Step, int Steps, double Timestep);

/// <summary>Cached, encoded training inputs (latents, text conditioning) for one concept image.</summary>
public interface ITrainingExample : IDisposable;

/// <summary>What the trainer needs from a model family (SD-XL, FLUX): encode once, a loss per step, sampling.</summary>
public interface IDiffusionPipeline : IDisposable
{
    /// <summary>The model's name (its folder name) as recorded in adapter metadata.</summary>
    string Name { get; }

    /// <summary>The network the adapters attach to (UNet or transformer).</summary>
    Module Denoiser { get; }

    Device Device { get; }
    RankScheduleKind ScheduleKind { get; }
    IReadOnlyList<string> AdapterProjections { get; }

    /// <summary>The training resolution must be a multiple of this (the VAE's downscale, times FLUX's 2×2 packing).</summary>
    int ResolutionMultiple { get; }

    /// <summary>Encodes the concept image and prompt once.</summary>
    ITrainingExample PrepareTraining(ConceptImage image, string prompt);

    /// <summary>Draws a timestep and noise, sets the adapters' rank mask for it, and returns the loss (with graph).</summary>
    (Tensor Loss, double Timestep) TrainingLoss(ITrainingExample example, AdapterNetwork network, Generator generator);

    /// <summary>Images [N, 3, H, W] in [0, 1], prompts in order, each repeated ImagesPerPrompt times.</summary>
    Tensor Sample(SampleOptions options, AdapterNetwork? network, IProgress<SampleProgress>? progress, CancellationToken cancellation);
}
