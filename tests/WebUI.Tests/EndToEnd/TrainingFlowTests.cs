using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace TLoRA.WebUI.Tests.EndToEnd;

/// <summary>
/// The UI in Chromium against the real stack on the tiny SD-XL model: upload an image, train, watch steps and a
/// checkpoint preview arrive, cancel a second job, sample with the adapter, and open the inspector's charts.
/// Screenshots of each page go to artifacts/screenshots.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class TrainingFlowTests(EndToEndFixture fx) : IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(120);
    private IBrowserContext context = null!;
    private IPage page = null!;

    public async Task InitializeAsync()
    {
        Assertions.SetDefaultExpectTimeout((float)Long.TotalMilliseconds);
        context = await fx.Browser.Chromium.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fx.Stack.GatewayAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1400, Height = 1000 },
        });
        context.SetDefaultTimeout((float)Long.TotalMilliseconds);
        page = await context.NewPageAsync();
    }

    public async Task DisposeAsync() => await context.DisposeAsync();

    private static string ConceptImage => Path.Combine(Stack.RepositoryRoot, "tests", "fixtures", "concept", "toy-robot.jpg");

    private Task ShotAsync(string name) => page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Browser.ScreenshotDirectory, name + ".png"), FullPage = true });

    private Task SetAsync(string name, string value) => page.Locator($"input[name='{name}'], textarea[name='{name}']").First.FillAsync(value);

    private async Task<int> StepAsync()
    {
        var text = await page.Locator("#step-counter").TextContentAsync() ?? "";
        return int.Parse(text.Split('/')[0].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<string> StartTrainingAsync(int steps, int checkpointEvery)
    {
        await page.GotoAsync("/train");
        await page.Locator("#image-input").SetInputFilesAsync(ConceptImage);
        await Assertions.Expect(page.Locator("#image-preview")).ToBeVisibleAsync();
        await page.Locator("select[name='modelId']").SelectOptionAsync("sdxl-tiny");
        await SetAsync("classWord", "robot");
        await SetAsync("rank", "4");
        await SetAsync("steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await SetAsync("checkpointInterval", checkpointEvery.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await SetAsync("previewSteps", "2");
        await SetAsync("validationPrompts", "a {0} in the snow");
        await page.Locator("#start-training").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(JobUrl());
        return JobUrl().Match(page.Url).Groups[1].Value;
    }

    [Fact]
    public async Task Train_watch_cancel_sample_and_inspect()
    {
        try
        {
            await RunAsync();
        }
        catch (Exception e) when (e is PlaywrightException or TimeoutException or Xunit.Sdk.XunitException)
        {
            await ShotAsync("failure");
            throw new InvalidOperationException($"{e.Message}\n--- stack output ---\n{fx.Stack.Log}", e);
        }
    }

    private async Task RunAsync()
    {
        // errors are shown next to their fields, and nothing is queued
        await page.GotoAsync("/train");
        await page.Locator("select[name='modelId']").SelectOptionAsync("sdxl-tiny");
        await SetAsync("classWord", "robot");
        await SetAsync("rank", "999");
        await page.Locator("#start-training").ClickAsync();
        await Assertions.Expect(page.Locator("[data-error-for='rank']")).ToContainTextAsync("at most 64");
        await Assertions.Expect(page.Locator("[data-error-for='image']")).ToContainTextAsync("choose a PNG or JPEG");
        await Assertions.Expect(page.Locator("input[name='classWord']")).ToHaveValueAsync("robot");
        await page.Locator("#image-input").SetInputFilesAsync(new FilePayload { Name = "notes.txt", MimeType = "text/plain", Buffer = "not an image"u8.ToArray() });
        await page.Locator("#start-training").ClickAsync();
        await Assertions.Expect(page.Locator("[data-error-for='image']")).ToContainTextAsync("'notes.txt' is not a PNG or JPEG file");
        await ShotAsync("train-form-errors");
        Assert.Equal(0, await page.Locator("[data-job]").CountAsync());

        // a short training run: steps count up, a checkpoint brings a preview, the job completes
        var jobId = await StartTrainingAsync(steps: 12, checkpointEvery: 6);
        await Assertions.Expect(page.Locator("[data-checkpoint] img").First).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#job-state [data-state]")).ToHaveAttributeAsync("data-state", "completed");
        await Assertions.Expect(page.Locator("#step-counter")).ToHaveTextAsync("12 / 12");
        Assert.Equal(2, await page.Locator("[data-checkpoint]").CountAsync());
        Assert.True(await page.Locator("#loss-chart svg path").CountAsync() > 0, "the loss chart has no curve");
        await page.Locator("[data-checkpoint] img.tl-thumb").First.ClickAsync();
        await Assertions.Expect(page.Locator("#enlarge img")).ToBeVisibleAsync();
        await page.WaitForFunctionAsync("() => { const i = document.querySelector('#enlarge img'); return i.complete && i.naturalWidth > 0; }");
        await ShotAsync("preview-enlarged");
        await page.Locator("#enlarge button").ClickAsync();
        await ShotAsync("job-page");

        // the page survives a reload: history comes back from the gateway
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#step-counter")).ToHaveTextAsync("12 / 12");
        Assert.Equal(2, await page.Locator("[data-checkpoint]").CountAsync());

        // a second, long job is cancelled while it runs; its saved state stays
        var second = await StartTrainingAsync(steps: 5000, checkpointEvery: 1000);
        Assert.NotEqual(jobId, second);
        await Assertions.Expect(page.Locator("#job-state [data-state]")).ToHaveAttributeAsync("data-state", "running");
        // the step counter moves on its own (hub events → fresh fragments), without a reload
        var before = await StepAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (await StepAsync() <= before)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the step counter stayed at {before} for 60 s");
            await Task.Delay(100);
        }
        Assert.True(await page.Locator("#loss-chart svg path").CountAsync() > 0, "the live loss chart has no curve");
        await ShotAsync("job-running");
        await page.Locator("#cancel-job").ClickAsync();
        await Assertions.Expect(page.Locator("#job-state [data-state]")).ToHaveAttributeAsync("data-state", "cancelled");
        await ShotAsync("job-cancelled");

        // the jobs list shows both, with their final states
        await page.GotoAsync("/");
        await Assertions.Expect(page.Locator($"tr[data-job='{jobId}'] [data-state]")).ToHaveAttributeAsync("data-state", "completed");
        await Assertions.Expect(page.Locator($"tr[data-job='{second}'] [data-state]")).ToHaveAttributeAsync("data-state", "cancelled");
        await ShotAsync("jobs");

        // sample with the trained adapter
        await page.GotoAsync($"/jobs/{jobId}");
        await page.Locator("#sample-adapter").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/sample\\?"));
        await SetAsync("steps", "2");
        await page.Locator("#generate").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(JobUrl());
        await Assertions.Expect(page.Locator("#sample-grid img").First).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#job-state [data-state]")).ToHaveAttributeAsync("data-state", "completed");
        await ShotAsync("sample");

        // the inspector charts the adapter
        await page.GotoAsync($"/jobs/{jobId}");
        await page.Locator("#inspect-adapter").ClickAsync();
        await Assertions.Expect(page.Locator("#effective-rank-chart svg path, #effective-rank-chart svg rect").First).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-role='mean-effective-rank']").First).ToHaveTextAsync(new Regex("^[0-9.]+$"));
        await Assertions.Expect(page.Locator("[data-role='orthogonality']").First).ToBeVisibleAsync();
        await ShotAsync("inspector");
    }

    [GeneratedRegex("/jobs/([^/?#]+)$")]
    private static partial Regex JobUrl();
}
