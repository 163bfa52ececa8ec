using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace TLoRA.WebUI.Auth;

/// <summary>
/// Single sign-on at an OpenID Connect authority (WebUI:Oidc), with ASP.NET Core's OpenIdConnect handler: the
/// authorization code flow with PKCE, the answer posted back to /signin-oidc. The cookie keeps only who signed in (name,
/// subject, a session id); the tokens stay on the server in <see cref="SessionTokens"/>, and <see cref="AccessTokens"/>
/// hands the gateway calls each person's own access token. /login offers "Sign in with …" (GET /login/oidc); signing
/// out also ends the session at the authority when it has an end-session endpoint.
/// </summary>
public static partial class WebUiOidc
{
    public const string Scheme = "oidc";
    public const string ChallengePath = "/login/oidc";
    public const string SignInMethodClaim = "tlora:signin";
    public const string SubjectClaim = "sub";
    public const string FailedQuery = "sso-failed";
    private const string IdTokenHintItem = "tlora:id-token-hint";

    public static void AddWebUiOidc(this WebApplicationBuilder builder, AuthenticationBuilder authentication)
    {
        var oidc = builder.Configuration.GetSection(OidcOptions.Section).Get<OidcOptions>() ?? new OidcOptions();
        builder.Services.AddOptions<OidcOptions>().Bind(builder.Configuration.GetSection(OidcOptions.Section)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<OidcOptions>, OidcOptionsValidator>();
        builder.Services.AddSingleton<AccessTokens>();
        if (!oidc.Enabled) return;
        authentication.AddOpenIdConnect(Scheme, oidc.DisplayName, o =>
        {
            o.Authority = oidc.Authority;
            o.ClientId = oidc.ClientId;
            o.ClientSecret = string.IsNullOrEmpty(oidc.ClientSecret) ? null : oidc.ClientSecret;
            o.RequireHttpsMetadata = oidc.RequireHttpsMetadata;
            o.ResponseType = OpenIdConnectResponseType.Code;
            o.UsePkce = true;
            o.SignInScheme = CookieAuthenticationDefaults.AuthenticationScheme;
            o.SaveTokens = false; // kept in SessionTokens, not in the cookie
            o.MapInboundClaims = false;
            o.GetClaimsFromUserInfoEndpoint = false;
            o.Scope.Clear();
            foreach (var scope in oidc.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries)) o.Scope.Add(scope);
            o.TokenValidationParameters.NameClaimType = oidc.NameClaim;
            if (!oidc.RequireHttpsMetadata)
            {
                // a test authority on plain http: the correlation and nonce cookies cannot be Secure there, and browsers
                // drop SameSite=None cookies that are not Secure; Lax still comes back with the authority's form_post when
                // it is same-site (a loopback authority on another port)
                o.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.CorrelationCookie.SameSite = SameSiteMode.Lax;
                o.NonceCookie.SameSite = SameSiteMode.Lax;
            }
            o.Events = new OpenIdConnectEvents
            {
                OnTokenValidated = SignedInAsync,
                OnRemoteFailure = context =>
                {
                    // the person cancelled at the authority, or its answer was refused: back to /login with a plain message
                    LogRemoteFailure(context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WebUiOidc)),
                        context.Failure);
                    context.Response.Redirect($"{WebUiAuth.LoginPath}?{FailedQuery}=1");
                    context.HandleResponse();
                    return Task.CompletedTask;
                },
                OnRedirectToIdentityProviderForSignOut = context =>
                {
                    if (context.HttpContext.Items[IdTokenHintItem] is string hint) context.ProtocolMessage.IdTokenHint = hint;
                    return Task.CompletedTask;
                },
            };
        });
    }

    /// <summary>The code was redeemed: keep the tokens on the server and sign in with a small principal.</summary>
    private static async Task SignedInAsync(TokenValidatedContext context)
    {
        var options = context.HttpContext.RequestServices.GetRequiredService<IOptions<OidcOptions>>().Value;
        var principal = context.Principal!;
        var subject = principal.FindFirstValue(SubjectClaim);
        var response = context.TokenEndpointResponse;
        if (string.IsNullOrEmpty(subject) || response?.AccessToken is not { Length: > 0 } accessToken)
        {
            context.Fail("the authority's answer has no subject or no access token");
            return;
        }
        var name = principal.FindFirstValue(options.NameClaim) ?? principal.FindFirstValue("preferred_username")
                   ?? principal.FindFirstValue("email") ?? subject;
        var session = Guid.NewGuid().ToString("N");
        var expiresIn = int.TryParse(response.ExpiresIn, out var seconds) ? seconds : 300;
        var clock = context.HttpContext.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System;
        await context.HttpContext.RequestServices.GetRequiredService<SessionTokens>()
            .SaveAsync(session, new SessionToken(accessToken, response.RefreshToken, clock.GetUtcNow().AddSeconds(expiresIn), response.IdToken))
            .ConfigureAwait(false);
        context.Principal = new ClaimsPrincipal(new ClaimsIdentity(
        [
            new Claim(ClaimTypes.Name, name),
            new Claim(SubjectClaim, subject),
            new Claim(WebUiAuth.SessionClaim, session),
            new Claim(SignInMethodClaim, Scheme),
        ], CookieAuthenticationDefaults.AuthenticationScheme));
        context.Properties!.IsPersistent = false;
    }

    /// <summary>Whether this principal signed in at the OIDC authority (and so calls the gateway with its own token).</summary>
    public static bool IsOidcUser(ClaimsPrincipal user) => user.HasClaim(SignInMethodClaim, Scheme);

    /// <summary>GET /login/oidc?ReturnUrl=…: off to the authority, back to the (local) ReturnUrl after signing in.</summary>
    public static void MapOidcLogin(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<OidcOptions>>().Value.Enabled) return;
        app.MapGet(ChallengePath, (string? returnUrl) =>
                Results.Challenge(new AuthenticationProperties { RedirectUri = WebUiAuth.LocalReturnUrl(returnUrl) }, [Scheme]))
            .AllowAnonymous().RequireRateLimiting(WebUiAuth.LoginRateLimit);
    }

    /// <summary>On sign-out of an OIDC session: its tokens are deleted, and the answer is the authority's end-session
    /// redirect (back to /login) when it has one; null when the WebUI alone signs out.</summary>
    public static async Task<IResult?> SignOutAsync(HttpContext context, string session)
    {
        var tokens = context.RequestServices.GetRequiredService<SessionTokens>();
        var idToken = (await tokens.GetAsync(session).ConfigureAwait(false))?.IdToken;
        await tokens.RemoveAsync(session).ConfigureAwait(false);
        var options = context.RequestServices.GetRequiredService<IOptionsMonitor<OpenIdConnectOptions>>().Get(Scheme);
        try
        {
            var configuration = await options.ConfigurationManager!.GetConfigurationAsync(context.RequestAborted).ConfigureAwait(false);
            if (string.IsNullOrEmpty(configuration.EndSessionEndpoint)) return null;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or HttpRequestException)
        {
            return null; // the authority is unreachable: sign out here at least
        }
        if (idToken is not null) context.Items[IdTokenHintItem] = idToken;
        return Results.SignOut(new AuthenticationProperties { RedirectUri = WebUiAuth.LoginPath }, [Scheme]);
    }

    /// <summary>The authority's origin, which the sign-out form's redirect goes to (CSP form-action), or null.</summary>
    public static string? AuthorityOrigin(OidcOptions options) =>
        options.Enabled && Uri.TryCreate(options.Authority, UriKind.Absolute, out var authority) ? authority.GetLeftPart(UriPartial.Authority) : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "single sign-on did not complete")]
    private static partial void LogRemoteFailure(ILogger logger, Exception? failure);
}

/// <summary>Refuses to start with OIDC settings that cannot work, naming each.</summary>
public sealed class OidcOptionsValidator : IValidateOptions<OidcOptions>
{
    public ValidateOptionsResult Validate(string? name, OidcOptions options) =>
        options.Problems().ToList() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}
