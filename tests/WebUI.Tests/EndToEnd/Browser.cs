using Microsoft.Playwright;

namespace TLoRA.WebUI.Tests.EndToEnd;

/// <summary>Debian's chromium driven by Playwright (no browser download is possible here). A missing chromium fails
/// the test with what to install; it never passes silently.</summary>
public sealed class Browser : IAsyncLifetime
{
    public const string DefaultChromium = "/usr/bin/chromium";

    private IPlaywright? playwright;

    public IBrowser Chromium { get; private set; } = null!;

    /// <summary>Where screenshots go: artifacts/screenshots at the repository root (kept by CI as test artefacts).</summary>
    public static string ScreenshotDirectory
    {
        get
        {
            var dir = Path.Combine(Stack.RepositoryRoot, "artifacts", "screenshots");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    public async Task InitializeAsync()
    {
        var executable = Environment.GetEnvironmentVariable("TLORA_CHROMIUM") ?? DefaultChromium;
        if (!File.Exists(executable))
            Assert.Fail($"{executable} is missing: install Debian's chromium (apt-get install chromium; bash .ci/setup does it) or set TLORA_CHROMIUM");
        playwright = await Playwright.CreateAsync();
        Chromium = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Chromium is not null) await Chromium.DisposeAsync();
        playwright?.Dispose();
    }
}

/// <summary>One stack and one browser for all end-to-end tests (they run one after another).</summary>
public sealed class EndToEndFixture : IAsyncLifetime
{
    public Stack Stack { get; } = new();
    public Browser Browser { get; } = new();

    public async Task InitializeAsync()
    {
        await Stack.InitializeAsync();
        await Browser.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        await Stack.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class EndToEndCollection : ICollectionFixture<EndToEndFixture>
{
    public const string Name = "end-to-end";
}
