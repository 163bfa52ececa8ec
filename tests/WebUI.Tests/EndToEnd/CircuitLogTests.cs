using Microsoft.Playwright;

namespace TLoRA.WebUI.Tests.EndToEnd;

/// <summary>A tab whose connection drops sends nothing it clicks until it reconnects: the web UI logs the drop at
/// Warning with the circuit's id, so "I clicked and nothing happened" has a line in the log.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class CircuitLogTests(EndToEndFixture fx)
{
    [Fact]
    public async Task A_tab_that_loses_its_connection_is_logged_as_a_warning()
    {
        await using var context = await fx.Browser.Chromium.NewContextAsync(new() { BaseURL = fx.Stack.WebAddress.ToString() });
        context.SetDefaultTimeout(60_000);
        var page = await context.NewPageAsync();
        await page.SignInAsync(fx.Stack, "/train");
        await Assertions.Expect(page.Locator("#start-training")).ToBeEnabledAsync(); // interactive: the circuit is up
        var before = Drops(fx.Stack.Log);
        await context.SetOfflineAsync(true);
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (Drops(fx.Stack.Log) == before && DateTime.UtcNow < deadline) await Task.Delay(200);
        await context.SetOfflineAsync(false);
        Assert.True(Drops(fx.Stack.Log) > before, "no 'lost its connection' warning in the stack's output:\n" + fx.Stack.Log);
    }

    private static int Drops(string log) =>
        log.Split('\n').Count(l => l.Contains("lost its connection", StringComparison.Ordinal));
}
