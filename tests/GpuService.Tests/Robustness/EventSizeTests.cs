using TLoRA.Contracts.V1;
using TLoRA.Engine.Tests;
using TLoRA.GpuService.Jobs;
using Xunit.Abstractions;

namespace TLoRA.GpuService.Tests.Robustness;

/// <summary>Issue 14 item 7: events carry image references and thumbnails within a fixed budget, however many
/// previews a checkpoint has (before: 16 images × 32 prompts made a 4.99 MB event on a real model).</summary>
public class EventSizeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_checkpoint_with_512_previews_stays_within_the_budget_and_every_image_is_fetchable()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path);
        var r = JobSystem.TinyTrain(steps: 1, interval: 0);
        r.ValidationPrompts.Clear();
        for (var i = 0; i < 32; i++) r.ValidationPrompts.Add($"a {{0}} number {i}");
        r.ImagesPerPrompt = 16;
        r.PreviewSteps = 1;
        var job = sys.Manager.SubmitTrain(r);
        var events = await sys.WaitForEndAsync(job.JobId, TimeSpan.FromMinutes(8));
        var checkpoint = events.Single(e => e.EventCase == JobEvent.EventOneofCase.TrainCheckpoint);
        var withThumbnail = checkpoint.TrainCheckpoint.Previews.Count(p => !p.ThumbnailPng.IsEmpty);
        output.WriteLine($"checkpoint event: {checkpoint.CalculateSize()} bytes, {checkpoint.TrainCheckpoint.Previews.Count} previews, " +
                         $"{withThumbnail} with thumbnails; every PNG together {checkpoint.TrainCheckpoint.Previews.Sum(p => new FileInfo(sys.Store.ArtifactPath(p.ImageId, "image")!).Length)} bytes");
        Assert.Equal(512, checkpoint.TrainCheckpoint.Previews.Count);
        Assert.True(checkpoint.CalculateSize() <= EventBudget.ThumbnailBytes + 64 * 1024, $"{checkpoint.CalculateSize()} bytes");
        Assert.True(withThumbnail > 0);
        Assert.All(checkpoint.TrainCheckpoint.Previews, p => Assert.True(File.Exists(sys.Store.ArtifactPath(p.ImageId, "image"))));
        Assert.All(events, e => Assert.True(e.CalculateSize() <= EventBudget.ThumbnailBytes + 64 * 1024));
    }

    [Fact]
    public async Task Sample_image_events_carry_a_thumbnail_and_the_image_id_not_the_image()
    {
        using var dir = new TempDir();
        using var sys = new JobSystem(dir.Path);
        var job = sys.Manager.SubmitSample(new SampleRequest { ModelId = "sdxl-tiny", Prompts = { "a robot" }, Steps = 1, ImagesPerPrompt = 2 });
        var images = (await sys.WaitForEndAsync(job.JobId)).Where(e => e.SampleImage is not null).Select(e => e.SampleImage).ToList();
        Assert.Equal(2, images.Count);
#pragma warning disable CS0612 // the deprecated field stays empty
        Assert.All(images, i => Assert.True(i.Png.IsEmpty));
#pragma warning restore CS0612
        Assert.All(images, i => Assert.False(i.ThumbnailPng.IsEmpty));
        Assert.All(images, i => Assert.True(File.Exists(sys.Store.ArtifactPath(i.ImageId, "image"))));
    }
}
