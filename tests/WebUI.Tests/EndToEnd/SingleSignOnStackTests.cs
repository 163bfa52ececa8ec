using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using TLoRA.WebUI.Tests.Host;

namespace TLoRA.WebUI.Tests.EndToEnd;

/// <summary>A stack (GPU service, gateway, WebUI as processes) whose gateway trusts <see cref="TestAuthority"/> and whose
/// WebUI signs people in there, as the chart configures `gateway.auth.authority` with `webui.oidc`, and a browser.</summary>
public sealed class SingleSignOnFixture : IAsyncLifetime
{
    public TestAuthority Authority { get; private set; } = null!;
    public Stack Stack { get; private set; } = null!;
    public Browser Browser { get; } = new();

    public async Task InitializeAsync()
    {
        Authority = await TestAuthority.StartAsync();
        Stack = new Stack(Authority);
        await Stack.InitializeAsync();
        await Browser.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        await Stack.DisposeAsync();
        await Authority.DisposeAsync();
    }
}

/// <summary>Issue 14: people who sign in at the authority act as themselves through the whole stack. A job alice submits
/// with her own token is hers at the gateway and the GPU service; through the WebUI, alice reaches it (REST proxy and the
/// live hub, each with her token) and bob, signed in the same way, does not. In the end-to-end collection, so it never
/// runs beside the other browser tests on this 2-core machine.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class SingleSignOnStackTests(SingleSignOnFixture fx) : IClassFixture<SingleSignOnFixture>
{
    private HttpClient GatewayAs(string person)
    {
        var http = new HttpClient { BaseAddress = fx.Stack.GatewayAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fx.Authority.MintAccessToken(person));
        return http;
    }

    /// <summary>A 1,000-step job (long enough to watch live; the tests cancel it) submitted with <paramref name="http"/>'s token.</summary>
    private async Task<string> SubmitAsync(HttpClient http)
    {
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(await File.ReadAllBytesAsync(UiFlowTests.ConceptImage)), "image", "toy-robot.jpg" },
            { new StringContent("sdxl-tiny"), "modelId" },
            { new StringContent("sks"), "trigger" },
            { new StringContent("robot"), "classWord" },
            { new StringContent("tlora"), "method" },
            { new StringContent("1000"), "steps" },
            { new StringContent("0"), "checkpointInterval" },
        };
        using var response = await http.PostAsync("/api/jobs", form);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode} {body}\n{fx.Stack.Log}");
        return JsonDocument.Parse(body).RootElement.GetProperty("jobId").GetString()!;
    }

    private HttpClient NewBrowser() =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = fx.Stack.WebAddress };

    [Fact]
    public async Task A_job_submitted_with_a_person_token_is_theirs_through_the_gateway_and_the_WebUI_and_nobody_else_sees_it()
    {
        using var alice = GatewayAs("alice");
        using var bob = GatewayAs("bob");
        var jobId = await SubmitAsync(alice);
        try
        {
            // the gateway: alice's job, by her token alone
            var job = await alice.GetFromJsonAsync<JsonElement>($"/api/jobs/{jobId}");
            Assert.Equal(jobId, job.GetProperty("jobId").GetString());
            using (var theirs = await bob.GetAsync($"/api/jobs/{jobId}")) Assert.Equal(HttpStatusCode.NotFound, theirs.StatusCode);
            using (var cancel = await bob.PostAsync($"/api/jobs/{jobId}/cancel", null)) Assert.Equal(HttpStatusCode.NotFound, cancel.StatusCode);
            var bobsJobs = await bob.GetFromJsonAsync<JsonElement>("/api/jobs");
            Assert.DoesNotContain(jobId, bobsJobs.ToString());

            // the WebUI: each person signs in at the authority; its proxy calls the gateway with that person's token
            var concept = $"/api/images/{Uri.EscapeDataString(jobId + "-concept")}";
            foreach (var (person, expected) in new[] { ("alice", HttpStatusCode.OK), ("bob", HttpStatusCode.NotFound) })
            {
                using var browser = NewBrowser();
                using (var signedIn = await fx.Authority.SignInAsync(browser, person))
                    Assert.True(signedIn.StatusCode == HttpStatusCode.Redirect, $"{person}: {(int)signedIn.StatusCode}\n{fx.Stack.Log}");
                using var image = await browser.GetAsync(concept);
                Assert.True(image.StatusCode == expected, $"{person}: {(int)image.StatusCode} for the concept image\n{fx.Stack.Log}");
                if (expected == HttpStatusCode.OK)
                {
                    Assert.StartsWith("image/", image.Content.Headers.ContentType?.MediaType);
                    Assert.True((await image.Content.ReadAsByteArrayAsync()).Length > 1000);
                }
            }
        }
        finally
        {
            using var cancelled = await alice.PostAsync($"/api/jobs/{jobId}/cancel", null);
        }
    }

    [Fact]
    public async Task In_the_browser_a_person_signs_in_with_single_sign_on_and_follows_their_own_job_live()
    {
        using var alice = GatewayAs("alice");
        using var bob = GatewayAs("bob");
        var aliceJob = await SubmitAsync(alice);
        var bobJob = await SubmitAsync(bob);
        try
        {
            await using var context = await fx.Browser.Chromium.NewContextAsync(new() { BaseURL = fx.Stack.WebAddress.ToString() });
            var page = await context.NewPageAsync();
            // what the browser did, for a failure's message; and every Content-Security-Policy violation it reported
            var trail = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var violations = new System.Collections.Concurrent.ConcurrentQueue<string>();
            page.Request += (_, r) => trail.Enqueue($"{r.Method} {r.Url}");
            page.RequestFailed += (_, r) => trail.Enqueue($"  failed {r.Url}: {r.Failure}");
            page.Response += (_, r) => { if (r.Status >= 400) trail.Enqueue($"  {r.Status} {r.Url}"); };
            page.Console += (_, m) =>
            {
                trail.Enqueue($"  console: {m.Text}");
                if (m.Text.Contains("Content Security Policy", StringComparison.Ordinal)) violations.Enqueue(m.Text);
            };
            await page.GotoAsync("/login?ReturnUrl=%2F");
            fx.Authority.NextUser = "alice";
            await page.Locator("#login-sso").ClickAsync();
            try
            {
                await Assertions.Expect(page.Locator("#signed-in-user")).ToHaveTextAsync("alice (test)", new() { Timeout = 30_000 });
            }
            catch (PlaywrightException e)
            {
                Assert.Fail($"{e.Message}\nat {page.Url}\n{string.Join("\n", trail)}\n{fx.Stack.Log}");
            }

            // the jobs list comes from the gateway with alice's token: her job, not bob's
            await Assertions.Expect(page.Locator($"#jobs-grid a[href='/jobs/{aliceJob}']")).ToHaveCountAsync(1);
            Assert.Equal(0, await page.Locator($"#jobs-grid a[href='/jobs/{bobJob}']").CountAsync());
            await page.ShotAsync("sso-jobs");

            // her job page follows the job live through the WebUI's hub connection, opened with her token
            await page.GotoAsync($"/jobs/{aliceJob}");
            await Assertions.Expect(page.Locator("#job-state [data-state]")).ToHaveAttributeAsync("data-state", "running", new() { Timeout = 60_000 });
            var first = await page.StepAsync();
            await Assertions.Expect(page.Locator("#step-counter")).Not.ToHaveTextAsync($"{first} / 1000", new() { Timeout = 60_000 });
            Assert.True(await page.StepAsync() > first);
            await Assertions.Expect(page.Locator("#concept-image")).ToHaveJSPropertyAsync("complete", true);
            Assert.True(await page.Locator("#concept-image").EvaluateAsync<int>("i => i.naturalWidth") > 0, "alice's concept image did not load");

            // bob's job does not exist for her
            await page.GotoAsync($"/jobs/{bobJob}");
            await Assertions.Expect(page.Locator("#page-problem")).ToHaveTextAsync($"There is no job '{bobJob}'.");
            Assert.Empty(violations);
        }
        finally
        {
            using var a = await alice.PostAsync($"/api/jobs/{aliceJob}/cancel", null);
            using var b = await bob.PostAsync($"/api/jobs/{bobJob}/cancel", null);
        }
    }
}
