using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.Extensions.Options;

namespace TLoRA.WebUI.Auth;

/// <summary>
/// The authentication state of an open tab. A Blazor circuit keeps the user it started with: the cookie checks
/// (<see cref="SignedOutSessions"/>) run only on HTTP requests, so without this a tab stayed usable after its session
/// was signed out elsewhere. Every <see cref="WebUiAuthOptions.RevalidateSeconds"/> the circuit's session is checked
/// again; a signed-out one becomes anonymous, and <c>SignedOutRedirect</c> sends the tab to /login.
/// </summary>
public sealed class SessionRevalidation(ILoggerFactory loggers, SignedOutSessions sessions, IOptions<WebUiAuthOptions> options)
    : RevalidatingServerAuthenticationStateProvider(loggers)
{
    protected override TimeSpan RevalidationInterval => TimeSpan.FromSeconds(options.Value.RevalidateSeconds);

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(authenticationState);
        var user = authenticationState.User;
        // only a cookie sign-in can be signed out (Development's anonymous user has no session)
        if (user.Identity is not { IsAuthenticated: true, AuthenticationType: CookieAuthenticationDefaults.AuthenticationScheme })
            return true;
        return user.FindFirst(WebUiAuth.SessionClaim)?.Value is { } session && !await sessions.IsSignedOutAsync(session).ConfigureAwait(false);
    }
}
