using Microsoft.Playwright;

namespace TLoRA.WebUI.Tests.EndToEnd;

/// <summary>A training job interrupted by a GPU service restart is resumed from the job page and runs on from its
/// last checkpoint.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ResumeTests(EndToEndFixture fx) : IAsyncLifetime
{
    private IBrowserContext context = null!;
    private IPage page = null!;

    public async Task InitializeAsync()
    {
        Assertions.SetDefaultExpectTimeout(180_000);
        context = await fx.Browser.Chromium.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fx.Stack.WebAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
        });
        context.SetDefaultTimeout(180_000);
        page = await context.NewPageAsync();
        await page.SignInAsync(fx.Stack);
    }

    public async Task DisposeAsync() => await context.DisposeAsync();

    [Fact]
    public async Task An_interrupted_job_resumes_from_its_last_checkpoint()
    {
        try
        {
            var jobId = await UiFlowTests.StartTrainingAsync(page, steps: 400, checkpointEvery: 3);
            await Assertions.Expect(page.Locator("[data-checkpoint]").First).ToBeVisibleAsync();
            await fx.Stack.RestartServiceAsync();
            // the gateway reaches the restarted service again (its client reconnects on its own schedule)
            using (var http = fx.Stack.GatewayClient())
            {
                var until = DateTime.UtcNow + TimeSpan.FromSeconds(90);
                while (!(await http.GetAsync($"/api/jobs/{jobId}")).IsSuccessStatusCode)
                {
                    Assert.True(DateTime.UtcNow < until, "the gateway did not reach the restarted GPU service within 90 s");
                    await Task.Delay(500);
                }
            }
            await page.ReloadAsync();
            await Assertions.Expect(page.Locator("#job-state [data-state]")).ToHaveAttributeAsync("data-state", "interrupted");
            var interruptedAt = await page.StepAsync();
            await page.ShotAsync("job-interrupted");
            await page.Locator("#resume-job").ClickAsync();
            await Assertions.Expect(page.Locator("#job-state [data-state]")).ToHaveAttributeAsync("data-state", "running");
            // it runs on, live, past where it was interrupted
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
            while (await page.StepAsync() <= interruptedAt)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{jobId} did not get past step {interruptedAt} after resuming");
                await Task.Delay(200);
            }
            await page.Locator("#cancel-job").ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Cancel the job" }).ClickAsync();
            await Assertions.Expect(page.Locator("#job-state [data-state]")).ToHaveAttributeAsync("data-state", "cancelled");
        }
        catch (Exception e) when (e is PlaywrightException or TimeoutException or Xunit.Sdk.XunitException)
        {
            await page.ShotAsync("resume-failure");
            throw new InvalidOperationException($"{e.Message}\n--- stack output ---\n{fx.Stack.Log}", e);
        }
    }
}
