using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace TLoRA.WebUI.Tests.Host;

/// <summary>
/// An OpenID Connect authority for the tests, on a loopback port: discovery, JWKS (RS256), an authorize endpoint that
/// signs in <see cref="NextUser"/> at once and answers with form_post (as real authorities do by the WebUI's request),
/// a token endpoint (authorization code with PKCE and client secret; refresh tokens, rotated: a used one is void) and an
/// end-session endpoint. Access tokens are JWTs for <see cref="Audience"/> with a "gen" claim that counts refreshes.
/// </summary>
public sealed partial class TestAuthority : IAsyncDisposable
{
    public const string ClientId = "tlora-webui";
    public const string ClientSecret = "test-client-secret";
    public const string Audience = "tlora-api";

    private readonly WebApplication app;
    private readonly RsaSecurityKey key = new(RSA.Create(2048)) { KeyId = "test-key" };
    private readonly ConcurrentDictionary<string, Grant> codes = new();
    private readonly ConcurrentDictionary<string, (string User, int Generation)> refreshTokens = new();
    private int refreshes;

    private sealed record Grant(string User, string RedirectUri, string? Nonce, string Challenge);

    public Uri Address { get; private set; } = null!;
    public string Issuer => Address.GetLeftPart(UriPartial.Authority);
    public SecurityKey SigningKey => key;

    /// <summary>Who signs in at the next /authorize.</summary>
    public string NextUser { get; set; } = "alice";

    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Every refresh is refused with invalid_grant (the person was disabled, the grant revoked).</summary>
    public bool RefuseRefresh { get; set; }

    public int Refreshes => Volatile.Read(ref refreshes);

    /// <summary>How long a granted refresh takes to answer (a slow authority: replicas refreshing together overlap).</summary>
    public TimeSpan RefreshDelay { get; set; }

    /// <summary>A refresh token this authority honours once, as a sign-in of <paramref name="user"/> would have left.</summary>
    public string IssueRefreshToken(string user)
    {
        var refresh = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        refreshTokens[refresh] = (user, 1);
        return refresh;
    }

    /// <summary>The ID token issued last, and the id_token_hint the end-session endpoint received last.</summary>
    public string? LastIdToken { get; private set; }
    public string? EndSessionHint { get; private set; }

    private TestAuthority(WebApplication app) => this.app = app;

    public static async Task<TestAuthority> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var authority = new TestAuthority(builder.Build());
        authority.Map();
        await authority.app.StartAsync();
        authority.Address = new Uri(authority.app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return authority;
    }

    private void Map()
    {
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = Issuer,
            ["authorization_endpoint"] = $"{Issuer}/authorize",
            ["token_endpoint"] = $"{Issuer}/token",
            ["jwks_uri"] = $"{Issuer}/jwks",
            ["end_session_endpoint"] = $"{Issuer}/logout",
            ["response_types_supported"] = new[] { "code" },
            ["subject_types_supported"] = new[] { "public" },
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
            ["code_challenge_methods_supported"] = new[] { "S256" },
        }));
        app.MapGet("/jwks", () =>
        {
            var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(key);
            return Results.Json(new { keys = new[] { new { kty = "RSA", use = "sig", alg = "RS256", kid = jwk.Kid, n = jwk.N, e = jwk.E } } });
        });
        app.MapGet("/authorize", (HttpRequest request) =>
        {
            var q = request.Query;
            if (q["client_id"] != ClientId || q["response_type"] != "code" || q["code_challenge_method"] != "S256")
                return Results.BadRequest("unexpected authorization request");
            var code = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
            codes[code] = new Grant(NextUser, q["redirect_uri"]!, q["nonce"], q["code_challenge"]!);
            // response_mode=form_post: the browser posts the code back to the client
            var html = $"""
                <html><body onload="document.forms[0].submit()"><form method="post" action="{WebUtility.HtmlEncode(q["redirect_uri"])}">
                <input type="hidden" name="code" value="{code}" /><input type="hidden" name="state" value="{WebUtility.HtmlEncode(q["state"])}" />
                </form></body></html>
                """;
            return Results.Content(html, "text/html");
        });
        app.MapPost("/token", async (HttpRequest request) =>
        {
            var form = await request.ReadFormAsync();
            if (form["client_id"] != ClientId || form["client_secret"] != ClientSecret) return Error("invalid_client", 401);
            switch ((string?)form["grant_type"])
            {
                case "authorization_code":
                    if (!codes.TryRemove(form["code"].ToString(), out var grant) || grant.RedirectUri != form["redirect_uri"]) return Error("invalid_grant");
                    var challenge = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(form["code_verifier"].ToString())));
                    if (challenge != grant.Challenge) return Error("invalid_grant");
                    LastIdToken = Sign(new Dictionary<string, object> { ["sub"] = grant.User, ["name"] = $"{grant.User} (test)", ["nonce"] = grant.Nonce ?? "" },
                        ClientId, TimeSpan.FromMinutes(5));
                    return Tokens(grant.User, 1, LastIdToken);
                case "refresh_token":
                    if (RefuseRefresh || !refreshTokens.TryRemove(form["refresh_token"].ToString(), out var held)) return Error("invalid_grant");
                    Interlocked.Increment(ref refreshes);
                    if (RefreshDelay > TimeSpan.Zero) await Task.Delay(RefreshDelay);
                    return Tokens(held.User, held.Generation + 1, null);
                default:
                    return Error("unsupported_grant_type");
            }
        }).DisableAntiforgery();
        app.MapGet("/logout", (HttpRequest request) =>
        {
            EndSessionHint = request.Query["id_token_hint"];
            var back = request.Query["post_logout_redirect_uri"].ToString();
            return Results.Redirect($"{back}?state={Uri.EscapeDataString(request.Query["state"].ToString())}");
        });
    }

    [System.Text.RegularExpressions.GeneratedRegex("action=\"([^\"]+)\"")]
    private static partial System.Text.RegularExpressions.Regex FormAction();

    [System.Text.RegularExpressions.GeneratedRegex("name=\"(code|state)\" value=\"([^\"]*)\"")]
    private static partial System.Text.RegularExpressions.Regex FormField();

    /// <summary>A browser's round trip through single sign-on, with <paramref name="user"/> signing in here: the WebUI's
    /// /login/oidc → this authority's /authorize → its form_post back to the WebUI's /signin-oidc, whose answer is
    /// returned. <paramref name="browser"/> keeps the WebUI's cookies and does not follow redirects. With
    /// <paramref name="error"/> the authority answers that error instead of a code.</summary>
    public async Task<HttpResponseMessage> SignInAsync(HttpClient browser, string user, string returnUrl = "/train", string? error = null)
    {
        NextUser = user;
        using var challenge = await browser.GetAsync("/login/oidc?ReturnUrl=" + Uri.EscapeDataString(returnUrl));
        Assert.Equal(HttpStatusCode.Redirect, challenge.StatusCode);
        var authorize = challenge.Headers.Location!;
        Assert.StartsWith($"{Issuer}/authorize?", authorize.AbsoluteUri);
        Assert.Contains("code_challenge=", authorize.Query);
        using var atAuthority = new HttpClient();
        var page = await atAuthority.GetStringAsync(authorize);
        var fields = FormField().Matches(page).ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));
        if (error is not null) fields = new() { ["error"] = error, ["state"] = fields["state"] };
        return await browser.PostAsync(WebUtility.HtmlDecode(FormAction().Match(page).Groups[1].Value), new FormUrlEncodedContent(fields));
    }

    private IResult Tokens(string user, int generation, string? idToken)
    {
        var refresh = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        refreshTokens[refresh] = (user, generation);
        var body = new Dictionary<string, object>
        {
            ["access_token"] = MintAccessToken(user, generation),
            ["token_type"] = "Bearer",
            ["expires_in"] = (int)AccessTokenLifetime.TotalSeconds,
            ["refresh_token"] = refresh,
        };
        if (idToken is not null) body["id_token"] = idToken;
        return Results.Json(body);
    }

    /// <summary>An access token for the gateway, as this authority issues them.</summary>
    public string MintAccessToken(string user, int generation = 1) =>
        Sign(new Dictionary<string, object> { ["sub"] = user, ["scope"] = "jobs:read jobs:write", ["gen"] = generation }, Audience, AccessTokenLifetime);

    private string Sign(Dictionary<string, object> claims, string audience, TimeSpan lifetime) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer, Audience = audience, Claims = claims, IssuedAt = DateTime.UtcNow, NotBefore = DateTime.UtcNow.AddSeconds(-5),
            Expires = DateTime.UtcNow + lifetime,
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        });

    private static IResult Error(string error, int status = 400) => Results.Json(new { error }, statusCode: status);

    /// <summary>The claims of an access token this authority signed (throws for anything else).</summary>
    public async Task<JsonWebToken> ValidateAccessTokenAsync(string token)
    {
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = Issuer, ValidAudience = Audience, IssuerSigningKey = key, ValidateLifetime = true,
        });
        return result.IsValid ? (JsonWebToken)result.SecurityToken : throw result.Exception;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
