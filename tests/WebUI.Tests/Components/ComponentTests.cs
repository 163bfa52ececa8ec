using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;
using TLoRA.Gateway.Api;
using TLoRA.WebUI.Components;
using TLoRA.WebUI.State;
using TLoRA.WebUI.Tests.State;

namespace TLoRA.WebUI.Tests.Components;

/// <summary>The job page's components rendered from a job's state (bUnit, no browser).</summary>
public sealed class ComponentTests : IAsyncLifetime
{
    private const string Id = "gpu-1.train-a";
    private readonly BunitContext ctx = new();

    public ComponentTests()
    {
        ctx.Services.AddMudServices();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    // MudBlazor's services are only asynchronously disposable
    public async Task DisposeAsync() => await ctx.DisposeAsync();

    private static JobLive Running(string method, int steps)
    {
        var events = new Events(Id);
        var job = new JobLive(Id);
        job.Apply(events.Started(10, method: method));
        for (var s = 1; s <= steps; s++) job.Apply(events.Step(s, 10, loss: 1.0 / s, rank: 3));
        return job;
    }

    [Fact]
    public void A_LoRA_job_shows_no_r_of_t_anywhere()
    {
        var view = ctx.Render<JobView>(p => p.Add(c => c.Job, Running(Methods.LoRA, 3)));
        Assert.Empty(view.FindAll("#rank-value"));
        Assert.Empty(view.FindAll("#rank-chart"));
        Assert.DoesNotContain("r(t)", view.Markup, StringComparison.Ordinal);
        Assert.Equal("3 / 10", view.Find("#step-counter").TextContent.Trim());
    }

    [Fact]
    public void A_T_LoRA_job_shows_r_of_t_and_its_chart()
    {
        var view = ctx.Render<JobView>(p => p.Add(c => c.Job, Running(Methods.TLoRA, 3)));
        Assert.Contains("3", view.Find("#rank-value").TextContent, StringComparison.Ordinal);
        Assert.Single(view.FindAll("#rank-chart"));
    }

    [Fact]
    public void A_live_step_updates_the_counter_and_appends_to_the_chart()
    {
        var job = Running(Methods.TLoRA, 2);
        var view = ctx.Render<JobView>(p => p.Add(c => c.Job, job));
        var pathsBefore = view.FindAll("#loss-svg path").Count;
        job.Apply(new JobEventDto(Id, job.LastSequence + 1, Events.T0, JobEventTypes.TrainStep, false, new TrainStepData(3, 10, 0.3, 10, 2, 1e-4, 1, 7)));
        view.Render();
        Assert.Equal("3 / 10", view.Find("#step-counter").TextContent.Trim());
        Assert.Equal(pathsBefore, view.FindAll("#loss-svg path").Count);
        Assert.Contains("L3 0.3", view.Find("#loss-svg").InnerHtml, StringComparison.Ordinal);
    }

    [Fact]
    public void A_queued_jobs_settings_say_when_rank_is_known_instead_of_showing_zero()
    {
        var job = new JobLive(Id);
        job.Seed(new JobDto(Id, "train", JobStates.Queued, 1, Events.T0, null, null, 0, 0, 10, "sdxl-tiny", null, null, "sks", "robot", Methods.TLoRA, "gpu-1"));
        var settings = ctx.Render<JobSettings>(p => p.Add(c => c.Job, job));
        Assert.Equal("set when the job starts", settings.Find("[data-role='rank']").TextContent.Trim());
        var stats = ctx.Render<JobStats>(p => p.Add(c => c.Job, job));
        Assert.Contains("Queued: position 1", stats.Find("#progress-text").TextContent, StringComparison.Ordinal);
        Assert.Equal("polite", stats.Find("#progress-text").GetAttribute("aria-live"));
    }

    [Fact]
    public void A_queued_job_with_its_settings_shows_every_one_of_them()
    {
        var job = new JobLive(Id);
        var settings = new TrainSettingsDto(Methods.TLoRA, 8, 3, 2.5, "middle", 10, 5, 42, 2e-4, 512, ["a {0} in the snow", "a {0}"], 2, 25, 5, "sks", "robot");
        job.Seed(new JobDto(Id, "train", JobStates.Queued, 1, Events.T0, null, null, 0, 0, 10, "sdxl-tiny", null, null, "sks", "robot", Methods.TLoRA, "gpu-1",
            settings));
        var view = ctx.Render<JobSettings>(p => p.Add(c => c.Job, job));
        string Cell(string role) => view.Find($"[data-role='{role}']").TextContent.Trim();
        Assert.Equal(("8", "3", "2.5", "10"), (Cell("rank"), Cell("min-rank"), Cell("alpha"), Cell("steps")));
        Assert.Equal(("every 5 steps", "42", "0.0002", "512 px", "middle"), (Cell("checkpoint-interval"), Cell("seed"), Cell("learning-rate"), Cell("resolution"), Cell("init")));
        Assert.Equal(["a {0} in the snow", "a {0}"], view.FindAll("[data-role='prompts'] div").Select(d => d.TextContent));
        Assert.DoesNotContain("set when the job starts", view.Markup, StringComparison.Ordinal);
        // the concept image, served to the job's owner through this host's file routes
        var image = view.Find("#concept-image");
        Assert.Equal($"/api/images/{Uri.EscapeDataString(Id)}-concept", image.GetAttribute("src"));
        Assert.Contains("sks robot", image.GetAttribute("alt"), StringComparison.Ordinal);
        // the ETA counts checkpoints from the settings before the first one is seen
        Assert.Equal(5, job.CheckpointInterval);
    }

    [Fact]
    public void Rendering_previews_is_announced_with_its_position()
    {
        var events = new Events(Id);
        var job = new JobLive(Id);
        job.Apply(events.Started(4));
        job.Apply(events.Step(2, 4));
        job.Apply(events.Previews(2, 3, 4, 1, 10));
        var stats = ctx.Render<JobStats>(p => p.Add(c => c.Job, job));
        Assert.Contains("Rendering previews 3 / 4", stats.Find("#previews-progress").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void Preparing_a_job_is_announced_with_its_stage_and_progress()
    {
        var events = new Events(Id);
        var job = new JobLive(Id);
        job.Apply(events.Preparing(PreparingStages.LoadingModel, 3L << 30, 12L << 30)); // bytes of the weights read
        var stats = ctx.Render<JobStats>(p => p.Add(c => c.Job, job));
        Assert.Equal("Loading the model: 3 GiB / 12 GiB (25 %)", stats.Find("#preparation-progress").TextContent.Trim());
        Assert.Single(stats.FindAll("[aria-label='preparation']"));
        job.Apply(events.Preparing(PreparingStages.InitialisingAdapter, 140, 560));
        stats.Render();
        Assert.Equal("Initialising the T-LoRA adapter: 140 / 560 projections (25 %)", stats.Find("#preparation-progress").TextContent.Trim());
        Assert.Equal("polite", stats.Find("#progress-text").GetAttribute("aria-live"));
        job.Apply(events.Started(10));
        stats.Render();
        Assert.Empty(stats.FindAll("#preparation-progress"));
        Assert.Empty(stats.FindAll("[aria-label='preparation']"));
        Assert.Single(stats.FindAll("[aria-label='progress']"));
    }

    [Fact]
    public void Cancel_is_offered_while_running_and_resume_only_when_interrupted()
    {
        var running = ctx.Render<JobView>(p => p.Add(c => c.Job, Running(Methods.TLoRA, 1)));
        Assert.Single(running.FindAll("#cancel-job"));
        Assert.Empty(running.FindAll("#resume-job"));
        var job = new JobLive(Id);
        job.Seed(new JobDto(Id, "train", JobStates.Interrupted, 0, Events.T0, null, null, 0, 3, 10, "sdxl-tiny", null, null, "sks", "robot", Methods.TLoRA, "gpu-1"));
        var interrupted = ctx.Render<JobView>(p => p.Add(c => c.Job, job));
        Assert.Single(interrupted.FindAll("#resume-job"));
        Assert.Empty(interrupted.FindAll("#cancel-job"));
    }

    [Fact]
    public void A_thumbnail_opens_the_lightbox_at_full_size_with_previous_next_and_download()
    {
        var events = new Events(Id);
        var job = new JobLive(Id);
        job.Apply(events.Started(4));
        job.Apply(events.Checkpoint(2));
        job.Apply(events.Checkpoint(4));
        var grid = ctx.Render<CheckpointGrid>(p => p.Add(c => c.Checkpoints, job.Checkpoints));
        Assert.Empty(grid.FindAll("#enlarge"));
        grid.FindAll("button.tl-thumb-button")[0].Click();
        var image = grid.Find("#enlarge img");
        Assert.Equal(job.Checkpoints[0].Previews[0].ImageUrl, image.GetAttribute("src"));
        Assert.Contains("(1 of 2)", grid.Find("#lightbox-caption").TextContent, StringComparison.Ordinal);
        grid.Find("#lightbox-next").Click();
        Assert.Equal(job.Checkpoints[1].Previews[0].ImageUrl, grid.Find("#enlarge img").GetAttribute("src"));
        Assert.NotNull(grid.Find("#lightbox-download").GetAttribute("download"));
        grid.Find("#lightbox-close").Click();
        Assert.Empty(grid.FindAll("#enlarge"));
    }
}
