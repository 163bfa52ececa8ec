using System.Diagnostics;
using Google.Protobuf;
using TLoRA.Engine.Adapters;
using TLoRA.Engine.IO;
using TLoRA.Engine.Pipelines;
using TLoRA.GpuService.Service;
using TLoRA.Contracts.V1;
using TorchSharp;
using static TorchSharp.torch;

namespace TLoRA.GpuService.Jobs;

/// <summary>Runs one sampling job on the engine thread: progress per denoising step, then each image (PNG, stored as
/// an artifact "{job}-iK"), then completion.</summary>
internal sealed class SampleJobRunner(JobManager jobs, ModelCatalog catalog, JobPaths paths)
{
    /// <summary>Runs the job; returns its completion, which the caller publishes after storing the job as completed.</summary>
    public SampleCompleted Run(JobRecord job, CancellationToken cancellation)
    {
        var request = jobs.Store.GetRequest(job.JobId, SampleRequest.Parser);
        var pipeline = new JobPreparation(jobs.Bus, job.JobId).LoadModel(catalog, request.ModelId);
        var options = RequestMapping.ToOptions(request, PipelineLoader.DefaultResolution(pipeline));
        var clock = Stopwatch.StartNew();
        Publish(job, new JobEvent { SampleStarted = new SampleStarted { Images = options.Prompts.Count * options.ImagesPerPrompt, Steps = options.Steps, Prompts = options.Prompts.Count } });
        using var network = string.IsNullOrEmpty(request.AdapterId) ? null
            : AdapterFile.Load(pipeline.Denoiser, jobs.Store.ArtifactPath(request.AdapterId, "adapter")!, pipeline.Device);
        using var scope = torch.NewDisposeScope();
        Tensor images;
        using (torch.no_grad())
            images = pipeline.Sample(options, network, new CallerProgress<SampleProgress>(p =>
            {
                job.Step = p.Image / options.ImagesPerPrompt * p.Steps + p.Step;
                Publish(job, new JobEvent { SampleStep = new SampleStep { PromptIndex = p.Image / options.ImagesPerPrompt, Step = p.Step, Steps = p.Steps, Timestep = p.Timestep } });
            }), cancellation);
        var completed = new SampleCompleted();
        Directory.CreateDirectory(paths.ImagesDirectory(job.JobId));
        for (var i = 0; i < images.size(0); i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var png = ImageSaver.EncodePng(images.select(0, i), PixelRange.ZeroToOne);
            var imageId = $"{job.JobId}-i{i}";
            var path = Path.Combine(paths.ImagesDirectory(job.JobId), $"{imageId}.png");
            ImageSaver.WriteAtomically(path, png);
            jobs.Store.AddArtifact(imageId, "image", path, job.JobId);
            completed.ImageIds.Add(imageId);
            Publish(job, new JobEvent
            {
                SampleImage = new SampleImage
                {
                    Index = i, Prompt = options.Prompts[i / options.ImagesPerPrompt], ImageId = imageId,
                    ThumbnailPng = ByteString.CopyFrom(new EventBudget().Thumbnail(png)),
                    Width = (int)images.size(3), Height = (int)images.size(2),
                },
            });
        }
        completed.ElapsedSeconds = clock.Elapsed.TotalSeconds;
        return completed;
    }

    private void Publish(JobRecord job, JobEvent e) => jobs.Bus.Publish(job.JobId, e);
}
