using Google.Protobuf;
using TLoRA.Engine.Pipelines;
using TLoRA.Engine.Training;
using TLoRA.GpuService.Service;
using TLoRA.Contracts.V1;

namespace TLoRA.GpuService.Jobs;

/// <summary>Runs one training job on the engine thread, turning the trainer's events into stored, broadcast job events
/// (with a train_previews event per denoising step of a checkpoint's previews). Checkpoint adapters and previews become
/// downloadable artifacts ("{job}-sNNNNNN", "{job}-sNNNNNN-pK").</summary>
internal sealed class TrainJobRunner(JobManager jobs, ModelCatalog catalog, JobPaths paths)
{
    /// <summary>Runs the job; returns its completion, which the caller publishes after storing the job as completed
    /// (a client that sees 'completed' and asks GetJob then finds the job completed).</summary>
    public Contracts.V1.TrainCompleted Run(JobRecord job, bool resume, CancellationToken cancellation)
    {
        var request = jobs.Store.GetRequest(job.JobId, TrainRequest.Parser);
        var preparation = new JobPreparation(jobs.Bus, job.JobId);
        var pipeline = preparation.LoadModel(catalog, request.ModelId);
        var options = RequestMapping.ToOptions(request, PipelineLoader.DefaultResolution(pipeline));
        using var image = ConceptImage.Decode(request.Image.Span, "image", options.Resolution, cancellation);
        var resumeFrom = resume ? paths.LatestCheckpoint(job.JobId) : null;
        var trainer = new AdapterTrainer(pipeline, options, paths.RunDirectory(job.JobId));
        Contracts.V1.TrainCompleted? completed = null;
        var previews = new CallerProgress<Engine.Pipelines.SampleProgress>(p => jobs.Bus.Publish(job.JobId, new JobEvent
        {
            TrainPreviews = new TrainPreviews
            {
                Step = job.Step, Index = p.Image + 1, Count = p.Images, DenoisingStep = p.Step, DenoisingSteps = p.Steps,
            },
        }));
        foreach (var e in trainer.Run(image, resumeFrom, cancellation, previews, preparation))
        {
            if (resume && e is Engine.Training.TrainStarted s)
                jobs.Bus.Publish(job.JobId, new JobEvent { Resumed = new Resumed { FromStep = s.StartStep, InterruptedStep = job.Step } });
            var artifacts = new List<Artifact>();
            var message = Map(job, e, artifacts);
            if (message.TrainStarted is { } started) started.Prompt = options.TrainingPrompt;
            if (message.EventCase == JobEvent.EventOneofCase.TrainCompleted)
            {
                foreach (var a in artifacts) jobs.Store.AddArtifact(a.Id, a.Kind, a.Path, job.JobId);
                jobs.Store.Update(job);
                completed = message.TrainCompleted;
                continue;
            }
            // The event, its files and the job's record in one transaction: a checkpoint is either announced,
            // downloadable and the job's newest adapter, or (after a crash) none of these.
            var record = e is Engine.Training.TrainStep or Engine.Training.TrainCheckpoint;
            jobs.Bus.Publish(job.JobId, message, artifacts, record ? job : null);
        }
        return completed ?? throw new InvalidOperationException("the trainer ended without completing");
    }

    private JobEvent Map(JobRecord job, Engine.Training.TrainEvent e, List<Artifact> artifacts)
    {
        var m = new JobEvent();
        switch (e)
        {
            case Engine.Training.TrainStarted s:
                job.TotalSteps = s.TotalSteps;
                job.Step = s.StartStep;
                m.TrainStarted = new Contracts.V1.TrainStarted
                {
                    TotalSteps = s.TotalSteps, StartStep = s.StartStep, AdaptedLayers = s.AdaptedLayers, TrainableParameters = s.TrainableParameters,
                    Method = RequestMapping.ToProto(s.Spec.Method), Rank = s.Spec.Rank, MinRank = s.Spec.MinRank, Alpha = s.Spec.Alpha,
                };
                break;
            case Engine.Training.TrainStep s:
                job.Step = s.Step;
                m.TrainStep = new Contracts.V1.TrainStep
                {
                    Step = s.Step, TotalSteps = s.TotalSteps, Loss = s.Loss, Timestep = s.Timestep, Rank = s.Rank, LearningRate = s.LearningRate,
                    StepsPerSecond = s.StepsPerSecond, EtaSeconds = s.Eta.TotalSeconds,
                };
                break;
            case Engine.Training.TrainCheckpoint c:
                var adapterId = $"{job.JobId}-s{c.Step:D6}";
                artifacts.Add(new Artifact(adapterId, "adapter", c.AdapterPath));
                job.AdapterId = adapterId;
                var checkpoint = new Contracts.V1.TrainCheckpoint { Step = c.Step, AdapterId = adapterId };
                var budget = new EventBudget();
                foreach (var p in c.Previews)
                {
                    var imageId = $"{adapterId}-p{checkpoint.Previews.Count}";
                    artifacts.Add(new Artifact(imageId, "image", p.Path));
                    checkpoint.Previews.Add(new Preview
                    {
                        Prompt = p.Prompt, Index = p.Index, ImageId = imageId, ThumbnailPng = ByteString.CopyFrom(budget.Thumbnail(p.Png)),
                    });
                }
                m.TrainCheckpoint = checkpoint;
                break;
            case Engine.Training.TrainCompleted d:
                var finalId = $"{job.JobId}-final";
                artifacts.Add(new Artifact(finalId, "adapter", d.AdapterPath));
                job.AdapterId = finalId;
                m.TrainCompleted = new Contracts.V1.TrainCompleted
                {
                    AdapterId = finalId, Steps = d.Steps, FinalLoss = d.FinalLoss, Summary = RequestMapping.ToProto(d.Summary), ElapsedSeconds = d.Elapsed.TotalSeconds,
                };
                break;
        }
        return m;
    }
}
