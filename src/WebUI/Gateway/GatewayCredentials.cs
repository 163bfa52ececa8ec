using System.Net.Http.Headers;
using System.Security.Claims;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.Options;
using TLoRA.WebUI.Auth;

namespace TLoRA.WebUI.Gateway;

/// <summary>
/// Who the WebUI calls the gateway as, for the person using this scope (an HTTP request, or a tab's circuit): a person
/// signed in at the OIDC authority with their own access token (so the gateway sees their owner, scopes and limits); the
/// local admin, and Development's anonymous user, with the WebUI's API key (WebUI:GatewayApiKey); nobody else with
/// anything. In an HTTP request the person is the request's user (set by <see cref="UseGatewayCredentials"/>); in a
/// circuit, the circuit's authentication state.
/// </summary>
public sealed class GatewayCredentials(IOptions<WebUiOptions> options, AuthenticationStateProvider circuitUser, AccessTokens tokens)
{
    /// <summary>The user of the HTTP request this scope serves; null in a circuit.</summary>
    public ClaimsPrincipal? RequestUser { get; set; }

    /// <summary>Puts the credential on a request to the gateway's REST API.</summary>
    public async Task ApplyAsync(HttpRequestMessage request, CancellationToken ct)
    {
        var (bearer, apiKey) = await ResolveAsync(ct).ConfigureAwait(false);
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        else if (apiKey is not null) request.Headers.Add(WebUiHost.ApiKeyHeader, apiKey);
    }

    /// <summary>The hub's access token (asked again at every reconnect, so a refreshed token is used).</summary>
    public async Task<string?> HubTokenAsync()
    {
        var (bearer, apiKey) = await ResolveAsync(CancellationToken.None).ConfigureAwait(false);
        return bearer ?? apiKey;
    }

    private async Task<(string? Bearer, string? ApiKey)> ResolveAsync(CancellationToken ct)
    {
        var user = RequestUser ?? (await circuitUser.GetAuthenticationStateAsync().ConfigureAwait(false)).User;
        if (user.Identity?.IsAuthenticated != true) return (null, null);
        if (!WebUiOidc.IsOidcUser(user)) return (null, string.IsNullOrEmpty(options.Value.GatewayApiKey) ? null : options.Value.GatewayApiKey);
        string? token;
        try
        {
            token = user.FindFirstValue(WebUiAuth.SessionClaim) is { } session ? await tokens.GetAsync(session, ct).ConfigureAwait(false) : null;
        }
        catch (TokenServiceUnavailableException e)
        {
            throw new GatewayException(503, "The sign-in service is not reachable", e.Message, null, e);
        }
        return token is null
            ? throw new GatewayException(401, "Your sign-in has ended", "Sign in again to continue.", null)
            : (token, null);
    }

    /// <summary>Records each request's user in its scope's <see cref="GatewayCredentials"/> (after authentication).</summary>
    public static void UseGatewayCredentials(WebApplication app) => app.Use((context, next) =>
    {
        context.RequestServices.GetRequiredService<GatewayCredentials>().RequestUser = context.User;
        return next(context);
    });
}
