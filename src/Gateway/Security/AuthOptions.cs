using Microsoft.Extensions.Options;

namespace TLoRA.Gateway.Security;

/// <summary>The "Gateway:Auth" configuration section: who may call the gateway's REST API and hub.</summary>
public sealed class AuthOptions
{
    public const string Section = "Gateway:Auth";

    /// <summary>The OIDC authority whose JWT bearer tokens are accepted (its discovery document gives the issuer and
    /// signing keys), e.g. https://login.example.com/realms/tlora. Unset: no bearer tokens.</summary>
    public string? Authority { get; set; }

    /// <summary>The audience tokens must carry (the API's client id / resource).</summary>
    public string? Audience { get; set; }

    /// <summary>Only for a test authority on plain http; never in production.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>The token claim that names the owner of the caller's jobs.</summary>
    public string OwnerClaim { get; set; } = "sub";

    /// <summary>API keys: each a SHA-256 hash of a key minted by <c>TLoRA.Gateway mint-api-key</c>, its owner and scopes.</summary>
    public List<ApiKeyEntry> ApiKeys { get; set; } = [];

    /// <summary>Development only: callers without credentials are the one local owner "anonymous" with every scope,
    /// so `stack.sh` and `dotnet run` need nothing set. Refused at start in any other environment.</summary>
    public bool DevelopmentAnonymous { get; set; }

    public bool HasAuthority => !string.IsNullOrWhiteSpace(Authority);
}

/// <summary>One API key: <see cref="Hash"/> is the lowercase hex SHA-256 of the key (the key itself is never stored).</summary>
public sealed class ApiKeyEntry
{
    public string Name { get; set; } = "";
    public string Hash { get; set; } = "";
    public string Owner { get; set; } = "";
    /// <summary>Space-separated: jobs:read, jobs:write, admin.</summary>
    public string Scopes { get; set; } = "";
}

/// <summary>Refuses, at start, a gateway that nobody could call safely: outside Development it needs an OIDC
/// authority or at least one API key, and never runs anonymous.</summary>
public sealed class AuthOptionsValidator(IHostEnvironment environment) : IValidateOptions<AuthOptions>
{
    public const int MaxOwnerLength = 128;

    public ValidateOptionsResult Validate(string? name, AuthOptions o)
    {
        var errors = new List<string>();
        if (o.DevelopmentAnonymous && !environment.IsDevelopment())
            errors.Add($"Gateway:Auth:DevelopmentAnonymous is only allowed in the Development environment (this is '{environment.EnvironmentName}'); " +
                       "configure Gateway:Auth:Authority or Gateway:Auth:ApiKeys instead");
        if (!o.HasAuthority && o.ApiKeys.Count == 0 && !(o.DevelopmentAnonymous && environment.IsDevelopment()))
            errors.Add("the gateway has no authentication configured: set Gateway:Auth:Authority (and Gateway:Auth:Audience) for OIDC bearer tokens " +
                       "and/or Gateway:Auth:ApiKeys (mint one with `dotnet TLoRA.Gateway.dll mint-api-key --owner NAME --scopes \"jobs:read jobs:write\"`); " +
                       "for a local start use ASPNETCORE_ENVIRONMENT=Development with Gateway:Auth:DevelopmentAnonymous=true");
        if (o.HasAuthority && (!Uri.TryCreate(o.Authority, UriKind.Absolute, out var authority) || (o.RequireHttpsMetadata && authority.Scheme != Uri.UriSchemeHttps)))
            errors.Add("Gateway:Auth:Authority must be an absolute https:// address (http only with RequireHttpsMetadata=false, for tests)");
        if (o.HasAuthority && string.IsNullOrWhiteSpace(o.Audience)) errors.Add("Gateway:Auth:Audience must name the audience tokens are issued for");
        if (string.IsNullOrWhiteSpace(o.OwnerClaim)) errors.Add("Gateway:Auth:OwnerClaim must name a claim");
        for (var i = 0; i < o.ApiKeys.Count; i++)
        {
            var k = o.ApiKeys[i];
            var at = $"Gateway:Auth:ApiKeys:{i}";
            if (!ApiKeys.IsHash(k.Hash)) errors.Add($"{at}:Hash must be the 64 hex digits of the key's SHA-256 (mint-api-key prints it)");
            if (!ValidOwner(k.Owner)) errors.Add($"{at}:Owner must be 1–{MaxOwnerLength} printable characters");
            var scopes = ApiKeys.SplitScopes(k.Scopes);
            if (scopes.Count == 0) errors.Add($"{at}:Scopes must list at least one of {string.Join(", ", Scopes.All)}");
            foreach (var s in scopes.Where(s => !Scopes.All.Contains(s))) errors.Add($"{at}:Scopes: unknown scope '{s}' (known: {string.Join(", ", Scopes.All)})");
        }
        if (o.ApiKeys.Select(k => k.Hash.ToLowerInvariant()).Distinct().Count() != o.ApiKeys.Count) errors.Add("Gateway:Auth:ApiKeys lists the same key twice");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>An owner the GPU service records as given (it treats an empty, over-long or non-printable one as anonymous).</summary>
    public static bool ValidOwner(string? owner) =>
        !string.IsNullOrWhiteSpace(owner) && owner.Length <= MaxOwnerLength && !owner.Any(char.IsControl) && owner.Trim() == owner;
}
