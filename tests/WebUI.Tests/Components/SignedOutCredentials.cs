using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TLoRA.WebUI.Auth;
using TLoRA.WebUI.Gateway;

namespace TLoRA.WebUI.Tests.Components;

/// <summary>Gateway credentials of a scope nobody signed in to: calls go without any (for components rendered against a
/// gateway stand-in that does not check).</summary>
public static class SignedOutCredentials
{
    public static GatewayCredentials Create()
    {
        var oidc = new OptionsMonitor<OpenIdConnectOptions>(new OptionsFactory<OpenIdConnectOptions>([], []), [], new OptionsCache<OpenIdConnectOptions>());
        var tokens = new AccessTokens(new SessionTokens(new EphemeralDataProtectionProvider()), new SignedOutSessions(), oidc, NullLogger<AccessTokens>.Instance);
        return new GatewayCredentials(Options.Create(new WebUiOptions()), new Microsoft.AspNetCore.Components.Server.ServerAuthenticationStateProvider(), tokens)
        {
            RequestUser = new ClaimsPrincipal(new ClaimsIdentity()),
        };
    }
}
