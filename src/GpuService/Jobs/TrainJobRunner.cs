using Google.Protobuf;
using TLoRA.Engine.Pipelines;
using TLoRA.Engine.Training;
using TLoRA.GpuService.Service;
using TLoRA.Rpc.V1;

namespace TLoRA.GpuService.Jobs;

/// <summary>Runs one training job on the engine thread, turning the trainer's events into stored, broadcast TrainEvents.
/// Checkpoint adapters and previews become downloadable artifacts ("{job}-sNNNNNN", "{job}-sNNNNNN-pK").</summary>
internal sealed class TrainJobRunner(JobManager jobs, ModelCatalog catalog, JobPaths paths)
{
    /// <summary>Runs the job; returns its completion, which the caller publishes after storing the job as completed
    /// (a client that sees 'completed' and asks GetJob then finds the job completed).</summary>
    public Rpc.V1.TrainCompleted Run(Job job, bool resume, CancellationToken cancellation)
    {
        var request = jobs.Store.GetRequest(job.JobId, TrainRequest.Parser);
        var pipeline = catalog.Get(request.ModelId);
        var options = RequestMapping.ToOptions(request, PipelineLoader.DefaultResolution(pipeline));
        using var image = ConceptImage.Decode(request.Image.Span, "image", options.Resolution);
        var resumeFrom = resume ? paths.LatestCheckpoint(job.JobId) : null;
        var trainer = new AdapterTrainer(pipeline, options, paths.RunDirectory(job.JobId));
        Rpc.V1.TrainCompleted? completed = null;
        foreach (var e in trainer.Run(image, resumeFrom, cancellation))
        {
            var message = Map(job, e);
            // the record first, then the event: whoever hears the event and reads the job sees at least that much
            if (e is Engine.Training.TrainStep or Engine.Training.TrainCheckpoint or Engine.Training.TrainCompleted) jobs.Store.Update(job);
            if (message.EventCase == Rpc.V1.TrainEvent.EventOneofCase.Completed)
            {
                completed = message.Completed;
                continue;
            }
            jobs.Bus.Publish(job.JobId, seq =>
            {
                message.Sequence = seq;
                message.Time = JobStore.Now();
                return new JobEvent { Train = message };
            });
        }
        return completed ?? throw new InvalidOperationException("the trainer ended without completing");
    }

    private Rpc.V1.TrainEvent Map(Job job, Engine.Training.TrainEvent e)
    {
        var m = new Rpc.V1.TrainEvent { JobId = job.JobId };
        switch (e)
        {
            case Engine.Training.TrainStarted s:
                job.TotalSteps = s.TotalSteps;
                job.Step = s.StartStep;
                m.Started = new Rpc.V1.TrainStarted
                {
                    TotalSteps = s.TotalSteps, StartStep = s.StartStep, AdaptedLayers = s.AdaptedLayers, TrainableParameters = s.TrainableParameters,
                    Method = RequestMapping.ToProto(s.Spec.Method), Rank = s.Spec.Rank, MinRank = s.Spec.MinRank, Alpha = s.Spec.Alpha,
                };
                break;
            case Engine.Training.TrainStep s:
                job.Step = s.Step;
                m.Step = new Rpc.V1.TrainStep
                {
                    Step = s.Step, TotalSteps = s.TotalSteps, Loss = s.Loss, Timestep = s.Timestep, Rank = s.Rank, LearningRate = s.LearningRate,
                    StepsPerSecond = s.StepsPerSecond, EtaSeconds = s.Eta.TotalSeconds,
                };
                break;
            case Engine.Training.TrainCheckpoint c:
                var adapterId = $"{job.JobId}-s{c.Step:D6}";
                jobs.Store.AddArtifact(adapterId, "adapter", c.AdapterPath, job.JobId);
                job.AdapterId = adapterId;
                var checkpoint = new Rpc.V1.TrainCheckpoint { Step = c.Step, AdapterId = adapterId };
                foreach (var p in c.Previews)
                {
                    var imageId = $"{adapterId}-p{checkpoint.Previews.Count}";
                    jobs.Store.AddArtifact(imageId, "image", p.Path, job.JobId);
                    checkpoint.Previews.Add(new Preview
                    {
                        Prompt = p.Prompt, Index = p.Index, ImageId = imageId, ThumbnailPng = ByteString.CopyFrom(Thumbnails.Make(p.Png)),
                    });
                }
                m.Checkpoint = checkpoint;
                break;
            case Engine.Training.TrainCompleted d:
                var finalId = $"{job.JobId}-final";
                jobs.Store.AddArtifact(finalId, "adapter", d.AdapterPath, job.JobId);
                job.AdapterId = finalId;
                m.Completed = new Rpc.V1.TrainCompleted
                {
                    AdapterId = finalId, Steps = d.Steps, FinalLoss = d.FinalLoss, Summary = RequestMapping.ToProto(d.Summary), ElapsedSeconds = d.Elapsed.TotalSeconds,
                };
                break;
        }
        return m;
    }
}
