using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace TLoRA.WebUI.Tests.Host;

/// <summary>Issue 14 item 4: the UI's responses carry a CSP with frame-ancestors, nosniff, X-Frame-Options and a
/// referrer policy (today's UI sent none).</summary>
public sealed class SecurityHeadersTests
{
    [Fact]
    public async Task Every_response_carries_the_security_headers()
    {
        await using var app = WebUiHost.Build(["--urls", "http://127.0.0.1:0", "--WebUI:Gateway=http://127.0.0.1:9",
            "--environment", "Production", $"--WebUI:Admin:PasswordHash={TestHost.PasswordHash}"]);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        foreach (var path in new[] { "/health", "/no-such-page", "/login" })
        {
            using var response = await http.GetAsync(path);
            var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("frame-ancestors 'none'", csp);
            Assert.Contains("script-src 'self'", csp);
            Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
            Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
            Assert.Equal("same-origin", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        }
        await app.StopAsync();
    }
}
