using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace TLoRA.WebUI.Tests.EndToEnd;

/// <summary>
/// Measures the live path on the real stack and prints the numbers (a benchmark, not a timed test: nothing here
/// asserts a speed). Run alone with: dotnet test tests/WebUI.Tests -c Release --filter LiveMeasurements --logger
/// "console;verbosity=detailed".
/// - delay from a step event leaving the GPU service (its time stamp) to the step counter changing on screen;
/// - bytes the browser receives over the circuit's WebSocket per step;
/// - frame times of the job page once the job has 2,000 steps of history, while steps keep arriving.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class LiveMeasurements(EndToEndFixture fx, ITestOutputHelper output)
{
    private const int Steps = 2000;

    [Fact]
    public async Task Step_latency_bytes_per_step_and_frame_times()
    {
        var context = await fx.Browser.Chromium.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fx.Stack.WebAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1400, Height = 1000 },
        });
        context.SetDefaultTimeout(600_000);
        var page = await context.NewPageAsync();
        await page.SignInAsync(fx.Stack);
        long received = 0;
        page.WebSocket += (_, ws) => ws.FrameReceived += (_, f) => Interlocked.Add(ref received, f.Binary?.Length ?? System.Text.Encoding.UTF8.GetByteCount(f.Text ?? ""));
        try
        {
            var jobId = await UiFlowTests.StartTrainingAsync(page, steps: Steps, checkpointEvery: 0);
            await page.EvaluateAsync(@"() => {
                window.__delays = [];
                const counter = () => document.querySelector('#step-counter');
                const observe = () => {
                    const c = counter();
                    if (!c) { setTimeout(observe, 50); return; }
                    new MutationObserver(() => {
                        const sent = Number(c.getAttribute('data-time'));
                        if (sent > 0) window.__delays.push(Date.now() - sent);
                    }).observe(c, { childList: true, characterData: true, subtree: true });
                };
                observe();
            }");
            // bytes per step over a window of steps
            await WaitForStepAsync(page, 20);
            var (step0, bytes0) = (await page.StepAsync(), Interlocked.Read(ref received));
            await WaitForStepAsync(page, step0 + 100);
            var (step1, bytes1) = (await page.StepAsync(), Interlocked.Read(ref received));
            var delays = (await page.EvaluateAsync<JsonElement>("() => window.__delays")).EnumerateArray().Select(e => e.GetDouble()).Order().ToArray();
            output.WriteLine($"step → screen delay over {delays.Length} steps: median {Percentile(delays, 0.5):0} ms, p90 {Percentile(delays, 0.9):0} ms, max {delays[^1]:0} ms");
            output.WriteLine($"bytes to the browser per step: {(bytes1 - bytes0) / (double)(step1 - step0):0} (steps {step0}..{step1}, {bytes1 - bytes0} bytes)");

            // a long history: frame times with 2,000 steps on the charts while steps still arrive (a reload renders it all)
            await WaitForStepAsync(page, Steps - 150);
            await page.ReloadAsync();
            await WaitForStepAsync(page, Steps - 140);
            var frames = (await page.EvaluateAsync<JsonElement>(@"() => new Promise(done => {
                const times = []; let last = performance.now(); const end = last + 5000;
                const tick = now => { times.push(now - last); last = now; if (now < end) requestAnimationFrame(tick); else done(times); };
                requestAnimationFrame(tick);
            })")).EnumerateArray().Select(e => e.GetDouble()).Order().ToArray();
            var points = await page.EvaluateAsync<int>("() => document.querySelectorAll('#loss-svg path').length");
            output.WriteLine($"frame times over 5 s at step {await page.StepAsync()} ({points} loss-chart paths): median {Percentile(frames, 0.5):0.0} ms, " +
                             $"p99 {Percentile(frames, 0.99):0.0} ms, max {frames[^1]:0.0} ms, frames > 50 ms: {frames.Count(f => f > 50)} of {frames.Length}");
            using var http = fx.Stack.GatewayClient();
            await http.PostAsync($"/api/jobs/{jobId}/cancel", null);
        }
        finally
        {
            await context.DisposeAsync();
        }
    }

    private static async Task WaitForStepAsync(IPage page, int step)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(15);
        while (await page.Locator("#step-counter").CountAsync() == 0 || await page.StepAsync() < step)
        {
            Assert.True(DateTime.UtcNow < deadline, $"step {step} was not reached");
            await Task.Delay(100);
        }
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
