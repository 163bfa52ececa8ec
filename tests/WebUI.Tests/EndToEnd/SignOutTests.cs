using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace TLoRA.WebUI.Tests.EndToEnd;

/// <summary>Issue 14: signing out in one tab ends the sign-in of every open tab of that session. An open tab is a
/// Blazor circuit that keeps the user it started with; before, it stayed usable after the sign-out. The stack checks
/// every second (WebUI:Auth:RevalidateSeconds=1; 30 s by default).</summary>
[Collection(EndToEndCollection.Name)]
public sealed class SignOutTests(EndToEndFixture fx) : IAsyncLifetime
{
    private IBrowserContext context = null!;

    public async Task InitializeAsync()
    {
        context = await fx.Browser.Chromium.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fx.Stack.WebAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
        });
        context.SetDefaultTimeout(60_000);
    }

    public async Task DisposeAsync() => await context.DisposeAsync();

    [Fact]
    public async Task Signing_out_in_one_tab_sends_the_other_open_tabs_to_the_sign_in_page()
    {
        var first = await context.NewPageAsync();
        await first.SignInAsync(fx.Stack, "/train");
        await Assertions.Expect(first.Locator("#start-training")).ToBeVisibleAsync();
        // the circuit is live: a click reaches it
        await first.Locator("#theme-toggle").ClickAsync();

        var second = await context.NewPageAsync();
        await second.GotoAsync("/");
        await Assertions.Expect(second.Locator("#sign-out")).ToBeVisibleAsync();
        await second.Locator("#sign-out").ClickAsync();
        await Assertions.Expect(second).ToHaveURLAsync(new Regex("/login"));

        // the first tab did nothing: within the revalidation interval it is on /login, and comes back to /train after
        await Assertions.Expect(first).ToHaveURLAsync(new Regex("/login\\?ReturnUrl=%2Ftrain"), new() { Timeout = 15_000 });
        await first.SubmitLoginAsync(Stack.AdminUser, fx.Stack.AdminPassword);
        await Assertions.Expect(first).ToHaveURLAsync(new Regex("/train$"));
    }
}
