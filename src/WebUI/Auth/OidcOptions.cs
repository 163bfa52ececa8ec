namespace TLoRA.WebUI.Auth;

/// <summary>WebUI:Oidc: people sign in at an OpenID Connect authority (authorization code flow with PKCE) and the WebUI
/// calls the gateway with each person's own access token. Unset Authority: no single sign-on (the local admin only).</summary>
public sealed class OidcOptions
{
    public const string Section = "WebUI:Oidc";

    /// <summary>The authority (issuer) address, e.g. https://login.example.com/realms/tlora; its discovery document gives
    /// the endpoints and signing keys. The gateway's Gateway:Auth:Authority names the same one.</summary>
    public string? Authority { get; set; }

    /// <summary>The WebUI's client id at the authority (its redirect URI is https://HOST/signin-oidc).</summary>
    public string? ClientId { get; set; }

    /// <summary>The client's secret (a confidential client); empty for a public client (PKCE only).</summary>
    public string? ClientSecret { get; set; }

    /// <summary>Space-separated scopes requested. offline_access brings a refresh token (so a session outlives one access
    /// token); jobs:read and jobs:write are what the gateway checks. The access token must be issued for the gateway's
    /// Gateway:Auth:Audience (an audience mapper or resource indicator at the authority).</summary>
    public string Scopes { get; set; } = "openid profile offline_access jobs:read jobs:write";

    /// <summary>The name of the sign-in button ("Sign in with …").</summary>
    public string DisplayName { get; set; } = "single sign-on";

    /// <summary>The ID token claim shown as the person's name (falls back to preferred_username, email, then sub).</summary>
    public string NameClaim { get; set; } = "name";

    /// <summary>Only for a test authority on plain http; never in production.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);

    /// <summary>Everything wrong with these settings, each naming the setting (empty when OIDC is off or well set).</summary>
    public IEnumerable<string> Problems()
    {
        if (!Enabled) yield break;
        if (!Uri.TryCreate(Authority, UriKind.Absolute, out var authority) || (RequireHttpsMetadata && authority.Scheme != Uri.UriSchemeHttps))
            yield return "WebUI:Oidc:Authority must be an absolute https:// address (http only with WebUI:Oidc:RequireHttpsMetadata=false, for tests)";
        if (string.IsNullOrWhiteSpace(ClientId)) yield return "WebUI:Oidc:ClientId must name the WebUI's client at the authority";
        if (!Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("openid"))
            yield return "WebUI:Oidc:Scopes must include openid";
        if (string.IsNullOrWhiteSpace(NameClaim)) yield return "WebUI:Oidc:NameClaim must name a claim";
    }
}
