using Grpc.Core;
using TLoRA.Contracts.V1;
using TLoRA.Engine.Training;

namespace TLoRA.GpuService.Tests;

/// <summary>Issue 12 part B item 1: GetJob carries every setting of a training job, defaults applied, while it is still
/// queued and after it ended (when its stored request has dropped the image); listings leave them out.</summary>
public class JobSettingsTests
{
    [Fact]
    public async Task A_queued_job_reports_every_setting_and_the_defaults_it_will_use()
    {
        await using var host = await ServiceHost.StartAsync();
        var c = host.Client;
        var running = await c.SubmitTrainAsync(GrpcServiceTests.Tiny(steps: 200));
        await GrpcServiceTests.WaitUntil(async () => (await c.GetJobAsync(new GetJobRequest { JobId = running.JobId })).State == JobState.Running);

        var request = GrpcServiceTests.Tiny(steps: 7);
        request.Method = AdapterMethod.VanillaTlora;
        request.MinRank = 3;
        request.Alpha = 2.5;
        request.Seed = 42;
        request.CheckpointInterval = 5;
        request.Init = InitComponents.Middle;
        var queued = await c.SubmitTrainAsync(request);
        var job = await c.GetJobAsync(new GetJobRequest { JobId = queued.JobId });
        Assert.Equal(JobState.Queued, job.State);
        var s = job.Settings;
        Assert.NotNull(s);
        Assert.Equal((AdapterMethod.VanillaTlora, 4, 3, 2.5), (s.Method, s.Rank, s.MinRank, s.Alpha));
        Assert.Equal((7, 5, 42UL, InitComponents.Middle), (s.Steps, s.CheckpointInterval, s.Seed, s.Init));
        Assert.Equal(["a {0}"], s.ValidationPrompts);
        Assert.Equal(("sks", "robot"), (s.Trigger, s.ClassWord));
        // unset fields: the engine's defaults and the model's native resolution
        var defaults = new TrainingOptions();
        Assert.Equal(defaults.LearningRate, s.LearningRate);
        Assert.Equal(defaults.PreviewGuidance, s.PreviewGuidance);
        Assert.Equal(defaults.ImagesPerPrompt, s.ImagesPerPrompt);
        var model = (await c.ListModelsAsync(new ListModelsRequest())).Models.Single(m => m.ModelId == request.ModelId);
        Assert.Equal(model.NativeResolution, s.Resolution);

        // listings do not read every stored request
        var listed = (await c.ListJobsAsync(new ListJobsRequest())).Jobs.Single(j => j.JobId == queued.JobId);
        Assert.Null(listed.Settings);

        await c.CancelJobAsync(new CancelJobRequest { JobId = queued.JobId });
        await c.CancelJobAsync(new CancelJobRequest { JobId = running.JobId });
    }

    [Fact]
    public async Task An_ended_job_keeps_its_settings_and_a_sample_job_has_none()
    {
        await using var host = await ServiceHost.StartAsync();
        var c = host.Client;
        string? jobId = null;
        using (var call = c.Train(GrpcServiceTests.Tiny(steps: 2)))
            await foreach (var e in call.ResponseStream.ReadAllAsync()) jobId ??= e.JobId;
        var job = await c.GetJobAsync(new GetJobRequest { JobId = jobId });
        Assert.Equal(JobState.Completed, job.State);
        Assert.Equal((2, 4, 2), (job.Settings.Steps, job.Settings.Rank, job.Settings.MinRank));

        // the concept image is kept as uploaded (the stored request has dropped it), for its owner only, and goes with the job
        var conceptId = TLoRA.GpuService.Jobs.JobManager.ConceptImageId(jobId!);
        async Task<byte[]> Download(Metadata? headers = null)
        {
            using var download = c.DownloadImage(new DownloadImageRequest { ImageId = conceptId }, headers);
            var bytes = new List<byte>();
            await foreach (var chunk in download.ResponseStream.ReadAllAsync()) bytes.AddRange(chunk.Data);
            return [.. bytes];
        }
        Assert.Equal(GrpcServiceTests.Tiny().Image.ToByteArray(), await Download());
        var other = await Assert.ThrowsAsync<RpcException>(() => Download(new Metadata { { TLoRA.GpuService.Jobs.Caller.OwnerHeader, "bob" } }));
        Assert.Equal(StatusCode.NotFound, other.StatusCode);
        await c.DeleteJobAsync(new DeleteJobRequest { JobId = jobId });
        var gone = await Assert.ThrowsAsync<RpcException>(() => Download());
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);

        string? sampleId = null;
        using (var call = c.Sample(new SampleRequest { ModelId = "sdxl-tiny", Prompts = { "a robot" }, Steps = 1, Seed = 1 }))
            await foreach (var e in call.ResponseStream.ReadAllAsync()) sampleId ??= e.JobId;
        Assert.Null((await c.GetJobAsync(new GetJobRequest { JobId = sampleId })).Settings);
    }
}
