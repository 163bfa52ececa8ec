using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using TLoRA.Gateway.Services;

namespace TLoRA.Gateway.Security;

/// <summary>
/// API keys: "tlk_" and 32 random bytes (base64url), minted by <c>TLoRA.Gateway mint-api-key</c>; the gateway stores
/// only their SHA-256 (Gateway:Auth:ApiKeys) and compares a presented key's hash with every stored one in constant time.
/// </summary>
public static class ApiKeys
{
    public const string Prefix = "tlk_";
    public const string Header = "X-Api-Key";
    public const string AuthorizationScheme = "ApiKey";

    public static string Mint() => Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static bool IsHash(string? hash) => hash is { Length: 64 } && hash.All(Uri.IsHexDigit);

    public static IReadOnlyList<string> SplitScopes(string? scopes) =>
        (scopes ?? "").Split([' ', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>The key a request presents: the X-Api-Key header, "Authorization: ApiKey …", a bearer credential that is
    /// an API key (what SignalR clients send from their access-token factory), or, on /hubs only, the access_token
    /// query parameter of a WebSocket. Null when it presents none.</summary>
    public static string? Presented(HttpRequest request)
    {
        if (request.Headers[Header] is [{ Length: > 0 } header]) return header;
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith(AuthorizationScheme + " ", StringComparison.OrdinalIgnoreCase)) return authorization[(AuthorizationScheme.Length + 1)..].Trim();
        if (authorization.StartsWith("Bearer " + Prefix, StringComparison.OrdinalIgnoreCase)) return authorization[7..].Trim();
        if (GatewayAuth.HubAccessToken(request) is { } token && token.StartsWith(Prefix, StringComparison.Ordinal)) return token;
        return null;
    }

    /// <summary>`mint-api-key --owner NAME --scopes "jobs:read jobs:write"`: prints a new key (shown once) and the
    /// configuration entry that holds its hash.</summary>
    public static int MintCommand(string[] args, TextWriter output)
    {
        string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        var owner = Arg("--owner");
        var scopes = SplitScopes(Arg("--scopes") ?? $"{Scopes.Read} {Scopes.Write}");
        var name = Arg("--name") ?? owner;
        if (!AuthOptionsValidator.ValidOwner(owner) || scopes.Count == 0 || scopes.Any(s => !Scopes.All.Contains(s)))
        {
            output.WriteLine($"usage: TLoRA.Gateway mint-api-key --owner NAME [--scopes \"{Scopes.Read} {Scopes.Write}\"] [--name LABEL]  (scopes: {string.Join(", ", Scopes.All)})");
            return 64;
        }
        var key = Mint();
        output.WriteLine($"API key (give it to its user; it is not stored and cannot be shown again):\n  {key}");
        output.WriteLine("Add this entry to Gateway:Auth:ApiKeys (appsettings, user secrets or environment):");
        output.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { Name = name, Hash = Hash(key), Owner = owner, Scopes = string.Join(' ', scopes) }));
        return 0;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>Authenticates a request by its API key: owner and scopes from the matching Gateway:Auth:ApiKeys entry.</summary>
public sealed class ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> schemes, IOptionsMonitor<AuthOptions> auth, ILoggerFactory logger,
    UrlEncoder encoder) : AuthenticationHandler<AuthenticationSchemeOptions>(schemes, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (ApiKeys.Presented(Request) is not { } key) return Task.FromResult(AuthenticateResult.NoResult());
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        ApiKeyEntry? match = null;
        foreach (var entry in auth.CurrentValue.ApiKeys)
        {
            // every entry is compared, in constant time, whatever matched before
            var stored = ApiKeys.IsHash(entry.Hash) ? Convert.FromHexString(entry.Hash) : new byte[32];
            if (CryptographicOperations.FixedTimeEquals(presented, stored) && match is null) match = entry;
        }
        if (match is null) return Task.FromResult(AuthenticateResult.Fail("unknown API key"));
        var claims = new List<Claim> { new(GatewayCaller.OwnerClaim, match.Owner), new("tlora:api-key", match.Name) };
        claims.AddRange(ApiKeys.SplitScopes(match.Scopes).Select(s => new Claim(GatewayCaller.ScopeClaim, s)));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName)));
    }
}

/// <summary>Development only (Gateway:Auth:DevelopmentAnonymous): every caller without credentials is the local owner
/// "anonymous" with every scope.</summary>
public sealed class DevelopmentAnonymousHandler(IOptionsMonitor<AuthenticationSchemeOptions> schemes, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemes, logger, encoder)
{
    public const string SchemeName = "DevelopmentAnonymous";
    public const string Owner = "anonymous";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var claims = new List<Claim> { new(GatewayCaller.OwnerClaim, Owner) };
        claims.AddRange(Scopes.All.Select(s => new Claim(GatewayCaller.ScopeClaim, s)));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName)));
    }
}
