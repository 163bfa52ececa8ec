using System.Text.Json;
using Microsoft.Playwright;

namespace TLoRA.WebUI.Tests.EndToEnd;

/// <summary>What the end-to-end tests do on a page: fill MudBlazor fields by their labels, pick from selects, save
/// screenshots, read the step counter, and audit accessibility with the npm axe-core injected into the page.</summary>
public static class Ui
{
    public static string AxeScript
    {
        get
        {
            var path = Path.Combine(Stack.RepositoryRoot, "tests", "WebUI.Tests", "peers", "node_modules", "axe-core", "axe.min.js");
            if (!File.Exists(path)) Assert.Fail($"axe-core is not installed: run `npm ci` in tests/WebUI.Tests/peers (bash .ci/setup does it)");
            return path;
        }
    }

    /// <summary>Signs in on the real /login form as the stack's admin (once per browser context: the cookie stays) and
    /// waits until the browser has left /login.</summary>
    public static async Task SignInAsync(this IPage page, Stack stack, string returnTo = "/")
    {
        await page.GotoAsync("/login?ReturnUrl=" + Uri.EscapeDataString(returnTo));
        await page.SubmitLoginAsync(Stack.AdminUser, stack.AdminPassword);
        await Assertions.Expect(page).Not.ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/login"));
    }

    /// <summary>Clicks <paramref name="button"/> (a form's submit) and waits until the page is at <paramref name="url"/>.
    /// Twice in many CI runs a click on a complete form did nothing at all (the button enabled, no error, nothing in the
    /// log: an event sent while the circuit's connection was down is lost, as it is for a person, who clicks again). So
    /// when the page is still here after <paramref name="grace"/> with the button enabled again — not submitting —
    /// this clicks once more and says so in the test output; a form that never navigates still fails.</summary>
    public static async Task ClickUntilAtAsync(this IPage page, ILocator button, System.Text.RegularExpressions.Regex url, TimeSpan? grace = null)
    {
        await button.ClickAsync();
        if (await ArrivesAsync(page, url, grace ?? TimeSpan.FromSeconds(20))) return;
        if (await StillEnabledAsync(button) && !url.IsMatch(page.Url))
        {
            Console.WriteLine($"e2e: the click on {button} did not reach the page in time; clicking again");
            await button.ClickAsync();
        }
        await Assertions.Expect(page).ToHaveURLAsync(url);
    }

    private static async Task<bool> ArrivesAsync(IPage page, System.Text.RegularExpressions.Regex url, TimeSpan within)
    {
        try
        {
            await Assertions.Expect(page).ToHaveURLAsync(url, new() { Timeout = (float)within.TotalMilliseconds });
            return true;
        }
        catch (PlaywrightException)
        {
            return false;
        }
    }

    private static async Task<bool> StillEnabledAsync(ILocator button)
    {
        try
        {
            return await button.IsEnabledAsync(new() { Timeout = 1000 });
        }
        catch (PlaywrightException)
        {
            return false; // gone: the page is moving on
        }
    }

    /// <summary>Fills and submits the sign-in form on the current page.</summary>
    public static async Task SubmitLoginAsync(this IPage page, string user, string password)
    {
        await page.GetByLabel("User name", new() { Exact = true }).FillAsync(user);
        await page.GetByLabel("Password", new() { Exact = true }).FillAsync(password);
        await page.Locator("#login-submit").ClickAsync();
    }

    public static Task FillFieldAsync(this IPage page, string label, string value) => page.GetByLabel(label, new() { Exact = true }).FillAsync(value);

    /// <summary>Opens a MudSelect by its label and picks the option whose text starts with <paramref name="option"/>.</summary>
    public static async Task PickAsync(this IPage page, string label, string option)
    {
        await page.OpenSelectAsync(label);
        var item = page.Locator(".mud-popover-open .mud-list-item").Filter(new() { HasTextRegex = new System.Text.RegularExpressions.Regex("^\\s*" + System.Text.RegularExpressions.Regex.Escape(option)) }).First;
        await item.ClickAsync();
        await Assertions.Expect(page.Locator(".mud-popover-open .mud-list-item")).ToHaveCountAsync(0);
    }

    public static Task ShotAsync(this IPage page, string name, bool fullPage = true) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Browser.ScreenshotDirectory, name + ".png"), FullPage = fullPage });

    /// <summary>Opens a MudSelect by its label (to look at its options).</summary>
    public static Task OpenSelectAsync(this IPage page, string label) => page.GetByLabel(label, new() { Exact = true })
        .Locator("xpath=ancestor::div[contains(concat(' ', @class, ' '), ' mud-input-control ')][1]").ClickAsync();

    public static async Task<int> StepAsync(this IPage page)
    {
        var text = await page.Locator("#step-counter").TextContentAsync() ?? "";
        return int.Parse(text.Split('/')[0].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>axe-core over the page as it is: every serious or critical violation, as "rule: target…".</summary>
    public static async Task<IReadOnlyList<string>> AuditAsync(this IPage page)
    {
        // evaluated through the DevTools protocol, not as a <script> tag: the UI's CSP (script-src 'self') stays on and
        // blocks inline scripts, as it should
        if (!await page.EvaluateAsync<bool>("() => typeof window.axe !== 'undefined'"))
            await page.EvaluateAsync(await File.ReadAllTextAsync(AxeScript) + "\n;true");
        // colours caught mid-transition (a state chip turning from blue to green) are not the page's colours
        await page.EvaluateAsync("() => Promise.all(document.getAnimations().filter(a => a.effect?.getComputedTiming().endTime !== Infinity).map(a => a.finished.catch(() => null)))");
        var found = await page.EvaluateAsync<JsonElement>(@"async () => {
            const r = await axe.run(document, { resultTypes: ['violations'] });
            return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
              .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
        }");
        return found.EnumerateArray().Select(e => e.GetString()!).ToArray();
    }

    public static async Task AssertAccessibleAsync(this IPage page, string what)
    {
        var violations = await page.AuditAsync();
        Assert.True(violations.Count == 0, $"axe-core on {what}:\n" + string.Join('\n', violations));
    }

    /// <summary>Presses Tab until the focused element matches <paramref name="selector"/>: the element is reachable by
    /// keyboard in tab order.</summary>
    public static async Task TabToAsync(this IPage page, string selector, string? text = null, int maxPresses = 60)
    {
        var visited = new List<string>();
        for (var i = 0; i < maxPresses; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            var focused = await page.EvaluateAsync<string[]>(
                "([s, t]) => { const a = document.activeElement; if (!a) return ['0', '']; const hit = a.matches(s) && (!t || a.innerText.trim().toLowerCase() === t.toLowerCase()); return [hit ? '1' : '0', a.tagName.toLowerCase() + (a.id ? '#' + a.id : '') + ' ' + (a.innerText || '').trim().slice(0, 20)]; }",
                new[] { selector, text ?? "" });
            if (focused[0] == "1") return;
            visited.Add(focused[1]);
        }
        Assert.Fail($"{selector} {text} was not reached in {maxPresses} presses of Tab; focus went to: {string.Join(" → ", visited)}");
    }

    /// <summary>Every control a finger taps (buttons, nav links, button-like links, inputs, selects, checkboxes) is at
    /// least <paramref name="min"/> CSS px in both directions; links inside running text are exempt, as in WCAG 2.5.8.</summary>
    public static async Task AssertTapTargetsAsync(this IPage page, string what, int min = 40)
    {
        var small = await page.EvaluateAsync<string[]>(@"min => {
            const seen = new Set(), out = [];
            const controls = document.querySelectorAll('button, [role=button], a, input:not([type=hidden]), select, textarea, [role=checkbox], [role=switch], [role=tab]');
            for (const el of controls) {
              // a MudBlazor input's tap area is its whole control; a checkbox's is its button wrapper
              const target = el.closest('.mud-input-control, .mud-button-root, .mud-nav-link') ?? el;
              if (seen.has(target)) continue; seen.add(target);
              const style = getComputedStyle(target), box = target.getBoundingClientRect();
              if (box.width === 0 || box.height === 0 || style.visibility === 'hidden') continue;
              if (target.tagName === 'A' && style.display === 'inline') continue;
              if (target.tagName === 'INPUT' && target.type === 'file') continue; // hidden behind its button
              if (box.width < min || box.height < min)
                out.push(`${target.tagName.toLowerCase()}${target.id ? '#' + target.id : ''} '${(target.innerText || target.getAttribute('aria-label') || '').trim().slice(0, 30)}' ${Math.round(box.width)}x${Math.round(box.height)}`);
            }
            return out;
        }", min);
        Assert.True(small.Length == 0, $"tap targets under {min} px on {what}:\n" + string.Join('\n', small));
    }

    /// <summary>Nothing on the page is wider than the viewport (no sideways scrolling).</summary>
    public static async Task AssertNoSidewaysScrollAsync(this IPage page, string what)
    {
        var (scroll, width) = (await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth"), await page.EvaluateAsync<int>("() => window.innerWidth"));
        Assert.True(scroll <= width, $"{what} scrolls sideways: {scroll} px of content in a {width} px viewport");
    }
}
