using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using TLoRA.Gateway.Services;

namespace TLoRA.Gateway.Security;

/// <summary>
/// The gateway's authentication and authorization, with ASP.NET Core's own handlers: JWT bearer tokens from the OIDC
/// authority (Gateway:Auth:Authority, Audience), API keys (Gateway:Auth:ApiKeys), and — in Development only, when
/// Gateway:Auth:DevelopmentAnonymous is set — one local anonymous owner for callers without credentials. A policy
/// scheme picks the handler by what the request presents. Every handler leaves the same two claims, read by
/// <see cref="GatewayCaller.Of"/>: <see cref="GatewayCaller.OwnerClaim"/> and one <see cref="GatewayCaller.ScopeClaim"/>
/// per scope. The policies are the scopes' names; admin satisfies each.
/// </summary>
public static partial class GatewayAuth
{
    public const string Scheme = "TLoRA";
    public const string HubPrefix = "/hubs";

    public static void AddGatewayAuth(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>().Bind(builder.Configuration.GetSection(AuthOptions.Section)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        var auth = builder.Configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
        var anonymous = auth.DevelopmentAnonymous && builder.Environment.IsDevelopment();

        var schemes = builder.Services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "API key, bearer token or development anonymous", o => o.ForwardDefaultSelector = context =>
            {
                if (ApiKeys.Presented(context.Request) is not null) return ApiKeyHandler.SchemeName;
                var presentsToken = context.Request.Headers.Authorization.Count > 0 || HubAccessToken(context.Request) is not null;
                if (presentsToken && auth.HasAuthority) return JwtBearerDefaults.AuthenticationScheme;
                if (!presentsToken && anonymous) return DevelopmentAnonymousHandler.SchemeName;
                return auth.HasAuthority ? JwtBearerDefaults.AuthenticationScheme : ApiKeyHandler.SchemeName;
            })
            .AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, null)
            .AddScheme<AuthenticationSchemeOptions, DevelopmentAnonymousHandler>(DevelopmentAnonymousHandler.SchemeName, null);
        if (auth.HasAuthority) schemes.AddJwtBearer(o => ConfigureBearer(o, auth));

        builder.Services.AddAuthorizationBuilder()
            .SetDefaultPolicy(new AuthorizationPolicyBuilder(Scheme).RequireAuthenticatedUser().RequireClaim(GatewayCaller.OwnerClaim).Build())
            .AddPolicy(Scopes.Read, p => RequireScope(p, Scopes.Read))
            .AddPolicy(Scopes.Write, p => RequireScope(p, Scopes.Write))
            .AddPolicy(Scopes.Admin, p => RequireScope(p, Scopes.Admin));
    }

    /// <summary>Logs, once at start, how callers are authenticated — loudly when anyone may call.</summary>
    public static void LogAuthMode(WebApplication app) => app.Lifetime.ApplicationStarted.Register(() =>
    {
        var auth = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("TLoRA.Gateway.Auth");
        if (auth.DevelopmentAnonymous && app.Environment.IsDevelopment()) LogAnonymous(logger);
        else LogConfigured(logger, auth.HasAuthority ? auth.Authority! : "(none)", auth.ApiKeys.Count);
    });

    /// <summary>The access_token query parameter, accepted only on the hub (browsers cannot set headers on a WebSocket).</summary>
    public static string? HubAccessToken(HttpRequest request) =>
        request.Path.StartsWithSegments(HubPrefix, StringComparison.OrdinalIgnoreCase) && request.Query["access_token"] is [{ Length: > 0 } token] ? token : null;

    private static void RequireScope(AuthorizationPolicyBuilder policy, string scope) =>
        policy.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser().RequireClaim(GatewayCaller.OwnerClaim)
            .RequireAssertion(c => c.User.HasClaim(GatewayCaller.ScopeClaim, scope) || c.User.HasClaim(GatewayCaller.ScopeClaim, Scopes.Admin));

    private static void ConfigureBearer(JwtBearerOptions o, AuthOptions auth)
    {
        o.Authority = auth.Authority;
        o.Audience = auth.Audience;
        o.RequireHttpsMetadata = auth.RequireHttpsMetadata;
        o.MapInboundClaims = false; // keep "sub", "scope" as the authority names them
        o.TokenValidationParameters.ValidateAudience = true;
        o.TokenValidationParameters.ValidateIssuer = true;
        o.TokenValidationParameters.ValidateLifetime = true;
        o.Events = new JwtBearerEvents
        {
            OnMessageReceived = c =>
            {
                if (string.IsNullOrEmpty(c.Token) && HubAccessToken(c.Request) is { } token) c.Token = token;
                return Task.CompletedTask;
            },
            OnTokenValidated = c =>
            {
                var principal = c.Principal!;
                var owner = principal.FindFirstValue(auth.OwnerClaim);
                if (!AuthOptionsValidator.ValidOwner(owner))
                {
                    c.Fail($"the token's '{auth.OwnerClaim}' claim is missing or not a valid owner");
                    return Task.CompletedTask;
                }
                // "scope" (space-separated, RFC 8693/9068) or "scp" (one claim per scope, or space-separated)
                var scopes = principal.FindAll("scope").Concat(principal.FindAll("scp")).SelectMany(s => ApiKeys.SplitScopes(s.Value)).Distinct();
                var identity = new ClaimsIdentity([new Claim(GatewayCaller.OwnerClaim, owner!), .. scopes.Select(s => new Claim(GatewayCaller.ScopeClaim, s))]);
                principal.AddIdentity(identity);
                return Task.CompletedTask;
            },
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "DEVELOPMENT ONLY: Gateway:Auth:DevelopmentAnonymous is on — every caller without credentials is the local owner 'anonymous' with every scope (admin included). Never expose this gateway.")]
    private static partial void LogAnonymous(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Callers authenticate with bearer tokens from {Authority} and/or one of {Keys} API keys")]
    private static partial void LogConfigured(ILogger logger, string authority, int keys);
}
