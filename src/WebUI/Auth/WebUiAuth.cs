using System.Collections.Concurrent;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace TLoRA.WebUI.Auth;

/// <summary>The WebUI's one local admin (WebUI:Admin): who may sign in, with which password (only its hash).</summary>
public sealed class AdminOptions
{
    public const string Section = "WebUI:Admin";

    public string User { get; set; } = "admin";

    /// <summary>`pbkdf2-sha256$ITERATIONS$SALT$HASH`, as `TLoRA.WebUI hash-password` prints it.</summary>
    public string? PasswordHash { get; set; }

    /// <summary>Sign-in attempts (login POSTs) allowed per minute from one remote address; more get 429.</summary>
    public int LoginAttemptsPerMinute { get; set; } = 5;
}

/// <summary>WebUI:Auth: DevelopmentAnonymous lets a Development host run without an admin password hash.</summary>
public sealed class WebUiAuthOptions
{
    public const string Section = "WebUI:Auth";

    /// <summary>Development only: every request that is not signed in acts as the user "anonymous" (no sign-in
    /// needed), and WebUI:Admin:PasswordHash may be missing. Refused at start in any other environment.</summary>
    public bool DevelopmentAnonymous { get; set; }

    /// <summary>How often an open tab (a Blazor circuit) checks that its sign-in still holds; a tab whose session was
    /// signed out (in another tab, or by a copied cookie's owner) goes to /login within this time.</summary>
    public double RevalidateSeconds { get; set; } = 30;
}

/// <summary>Refuses to start without a well-formed admin password hash, naming the setting and the command that makes
/// one, unless this is Development with WebUI:Auth:DevelopmentAnonymous.</summary>
public sealed class AdminOptionsValidator(IHostEnvironment environment, IOptions<WebUiAuthOptions> auth, IOptions<OidcOptions> oidc)
    : IValidateOptions<AdminOptions>
{
    public const string HashCommand = "dotnet TLoRA.WebUI.dll hash-password";

    public ValidateOptionsResult Validate(string? name, AdminOptions o)
    {
        var errors = new List<string>();
        var anonymous = auth.Value.DevelopmentAnonymous;
        if (anonymous && !environment.IsDevelopment())
            errors.Add($"WebUI:Auth:DevelopmentAnonymous is only allowed in the Development environment (this is '{environment.EnvironmentName}'); " +
                       $"set WebUI:Oidc:Authority or WebUI:Admin:PasswordHash instead (make one with `{HashCommand}`)");
        if (string.IsNullOrWhiteSpace(o.PasswordHash))
        {
            // with single sign-on there need be no local admin
            if (!(anonymous && environment.IsDevelopment()) && !oidc.Value.Enabled)
                errors.Add($"WebUI:Admin:PasswordHash is not set and no WebUI:Oidc:Authority either: nobody could sign in. For single sign-on set " +
                           "WebUI:Oidc:Authority and WebUI:Oidc:ClientId; for the local admin, make a hash with " +
                           $"`echo -n 'PASSWORD' | {HashCommand}` (or run it and type the password) and set it in " +
                           "WebUI:Admin:PasswordHash (environment WebUI__Admin__PasswordHash); for a local start without sign-in use " +
                           "ASPNETCORE_ENVIRONMENT=Development with WebUI:Auth:DevelopmentAnonymous=true");
        }
        else if (!AdminPassword.IsWellFormed(o.PasswordHash))
            errors.Add($"WebUI:Admin:PasswordHash is malformed: it must be a line `{AdminPassword.Prefix}$ITERATIONS$SALT$HASH` " +
                       $"(at least {AdminPassword.MinIterations:N0} iterations, a 16-byte salt, a 32-byte hash) as `{HashCommand}` prints it");
        if (string.IsNullOrWhiteSpace(o.User)) errors.Add("WebUI:Admin:User must name the admin (default \"admin\")");
        if (o.LoginAttemptsPerMinute < 1) errors.Add("WebUI:Admin:LoginAttemptsPerMinute must be at least 1");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>
/// The WebUI's sign-in, with ASP.NET Core's own pieces: a cookie (HttpOnly, SameSite=Lax, Secure over https, 8 h
/// sliding) issued by the static /login page for the one local admin, antiforgery on the login and logout forms, a
/// rate limit on login attempts per address, and a fallback policy that requires a signed-in user on every endpoint
/// (pages, the Blazor hub, the /api proxies) except /login, /health and the static assets.
/// </summary>
public static partial class WebUiAuth
{
    public const string CookieName = "TLoRA.WebUI.Auth";
    public const string LoginPath = "/login";
    public const string LogoutPath = "/logout";
    public const string LoginRateLimit = "login";
    public const string DevelopmentAnonymousScheme = "DevelopmentAnonymous";
    public const string DevelopmentAnonymousUser = "anonymous";
    public const string WrongCredentials = "Wrong user name or password.";
    public const string SessionClaim = "tlora:session";

    /// <summary>The sign-in method claim (<see cref="WebUiOidc.SignInMethodClaim"/>) of the local admin.</summary>
    public const string LocalSignIn = "local";

    /// <summary>The Redis key the WebUI's data-protection keys live under (WebUI:DataProtectionRedisKey overrides it).</summary>
    public const string DefaultRedisKey = "tlora-webui-data-protection";

    /// <summary>How long a sign-in lasts without use (sliding: every request in the second half renews it).</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(8);

    public static void AddWebUiAuth(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<WebUiAuthOptions>().Bind(builder.Configuration.GetSection(WebUiAuthOptions.Section));
        services.AddOptions<AdminOptions>().Bind(builder.Configuration.GetSection(AdminOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AdminOptions>, AdminOptionsValidator>();

        // keys where ASP.NET Core keeps them by default, or shared (a folder, or Redis as the chart does) so sign-ins and
        // antiforgery tokens survive restarts and are valid on every replica
        var keys = services.AddDataProtection().SetApplicationName("TLoRA.WebUI");
        var path = builder.Configuration["WebUI:DataProtectionPath"];
        var redis = builder.Configuration["WebUI:DataProtectionRedis"];
        if (path is { Length: > 0 } && redis is { Length: > 0 })
            throw new OptionsValidationException("WebUI:DataProtectionRedis", typeof(WebUiAuthOptions),
                ["set WebUI:DataProtectionPath or WebUI:DataProtectionRedis, not both: they are two homes for the same keys"]);
        if (path is { Length: > 0 }) keys.PersistKeysToFileSystem(new DirectoryInfo(path));
        Func<StackExchange.Redis.IDatabase>? shared = null;
        var redisKey = builder.Configuration["WebUI:DataProtectionRedisKey"] is { Length: > 0 } k ? k : DefaultRedisKey;
        if (redis is { Length: > 0 })
        {
            // connected on first use; abortConnect=false (the chart's strings have it) lets it retry while Redis starts
            var connection = new Lazy<StackExchange.Redis.ConnectionMultiplexer>(() => StackExchange.Redis.ConnectionMultiplexer.Connect(redis));
            shared = () => connection.Value.GetDatabase();
            keys.PersistKeysToStackExchangeRedis(shared, redisKey);
        }

        var authentication = services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(o =>
        {
            o.Cookie.Name = CookieName;
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.ExpireTimeSpan = SessionLifetime;
            o.SlidingExpiration = true;
            o.LoginPath = LoginPath;
            o.LogoutPath = LogoutPath;
            o.AccessDeniedPath = LoginPath;
            o.ReturnUrlParameter = "ReturnUrl";
            // pages send the browser to /login; the /api proxies and the Blazor hub answer 401 (a script cannot use a login page)
            o.Events.OnRedirectToLogin = context =>
            {
                if (IsPageRequest(context.Request)) context.Response.Redirect(context.RedirectUri);
                else context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return Task.CompletedTask;
            };
            // a signed-out session's cookie is refused even when replayed (until the cookie would have expired anyway)
            o.Events.OnValidatePrincipal = async context =>
            {
                var sessions = context.HttpContext.RequestServices.GetRequiredService<SignedOutSessions>();
                if (context.Principal?.FindFirst(SessionClaim)?.Value is not { } session
                    || await sessions.IsSignedOutAsync(session).ConfigureAwait(false))
                    context.RejectPrincipal();
            };
            o.Events.OnRedirectToAccessDenied = context =>
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return Task.CompletedTask;
            };
        });
        builder.AddWebUiOidc(authentication);
        // replicas that share their keys share their sign-outs too: a copied cookie is refused by every one of them
        services.AddSingleton(sp => new SignedOutSessions(sp.GetService<TimeProvider>(), shared, redisKey + "-signed-out"));
        // and the tokens of OIDC sessions, so a refresh made on one replica is the one every replica uses
        services.AddSingleton(sp => new SessionTokens(sp.GetRequiredService<IDataProtectionProvider>(), sp.GetService<TimeProvider>(), shared,
            redisKey + "-tokens"));
        services.AddAuthorizationBuilder().SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        services.AddCascadingAuthenticationState();

        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(LoginRateLimit, context =>
            {
                // only attempts count (the form's GET does not); behind a proxy configure forwarded headers, or every
                // user shares the proxy's address
                if (!HttpMethods.IsPost(context.Request.Method)) return RateLimitPartition.GetNoLimiter("");
                var perMinute = context.RequestServices.GetRequiredService<IOptions<AdminOptions>>().Value.LoginAttemptsPerMinute;
                return RateLimitPartition.GetFixedWindowLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = perMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
            });
            o.OnRejected = async (context, token) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = "60";
                context.HttpContext.Response.ContentType = "text/plain; charset=utf-8";
                await context.HttpContext.Response.WriteAsync(
                    "Too many sign-in attempts from this address. Wait a minute, then try again.", token);
            };
        });
    }

    /// <summary>A browser navigating to a page (GET or HEAD, not under /api or the Blazor hub).</summary>
    public static bool IsPageRequest(HttpRequest request) =>
        (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
        && !request.Path.StartsWithSegments("/api") && !request.Path.StartsWithSegments("/_blazor");

    /// <summary>Authentication, the Development-only anonymous user, authorization and the login rate limit; then
    /// (the caller's) antiforgery.</summary>
    public static void UseWebUiAuth(this WebApplication app)
    {
        app.UseAuthentication();
        var auth = app.Services.GetRequiredService<IOptions<WebUiAuthOptions>>().Value;
        if (auth.DevelopmentAnonymous && app.Environment.IsDevelopment())
        {
            LogDevelopmentAnonymous(app.Logger, DevelopmentAnonymousUser);
            var anonymous = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, DevelopmentAnonymousUser)],
                DevelopmentAnonymousScheme));
            app.Use((context, next) =>
            {
                if (context.User.Identity?.IsAuthenticated != true) context.User = anonymous;
                return next(context);
            });
        }
        app.UseAuthorization();
        app.UseRateLimiter();
    }

    /// <summary>POST /logout (with the antiforgery token): signs out and sends the browser to /login.</summary>
    public static void MapLogout(this WebApplication app) =>
        app.MapPost(LogoutPath, async (HttpContext context, IAntiforgery antiforgery, SignedOutSessions sessions) =>
        {
            if (context.User.Identity is { IsAuthenticated: true, AuthenticationType: CookieAuthenticationDefaults.AuthenticationScheme })
            {
                if (!await antiforgery.IsRequestValidAsync(context))
                    return Results.BadRequest("The sign-out form's antiforgery token is missing or invalid: reload the page and try again.");
                var session = context.User.FindFirst(SessionClaim)?.Value;
                if (session is not null) await sessions.SignOutAsync(session, DateTimeOffset.UtcNow + SessionLifetime);
                await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
                // an OIDC session's tokens go, and the authority's session ends too when it offers that
                if (session is not null && WebUiOidc.IsOidcUser(context.User) && await WebUiOidc.SignOutAsync(context, session) is { } atAuthority)
                    return atAuthority;
            }
            return Results.Redirect(LoginPath);
        }).AllowAnonymous().DisableAntiforgery();

    /// <summary>Where to go after signing in: <paramref name="returnUrl"/> when it is a path on this host ("/…", not
    /// "//…" or "/\…", which browsers read as another host), else "/".</summary>
    public static string LocalReturnUrl(string? returnUrl) =>
        returnUrl is ['/', ..] && !returnUrl.StartsWith("//", StringComparison.Ordinal) && !returnUrl.StartsWith("/\\", StringComparison.Ordinal)
        && !returnUrl.Any(char.IsControl)
            ? returnUrl
            : "/";

    [LoggerMessage(Level = LogLevel.Warning, Message = "WebUI:Auth:DevelopmentAnonymous is on: NOBODY SIGNS IN; every request to " +
        "this WebUI acts as '{User}' with the WebUI's gateway API key. Development only; never expose this host.")]
    private static partial void LogDevelopmentAnonymous(ILogger logger, string user);

    /// <summary>The signed-in principal of the admin.</summary>
    public static ClaimsPrincipal AdminPrincipal(string user) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, user), new Claim(SessionClaim, Guid.NewGuid().ToString("N")),
            new Claim(WebUiOidc.SignInMethodClaim, LocalSignIn)], CookieAuthenticationDefaults.AuthenticationScheme));
}

/// <summary>Sessions signed out, by their session claim, kept until their cookie could no longer be valid anyway: a
/// copied cookie does not outlive its sign-out. In memory, and in Redis when the replicas share their keys there
/// (WebUI:DataProtectionRedis), so every replica refuses it; without Redis a restart or another replica does not
/// know them (the cookie then lasts until its own expiry).</summary>
public sealed class SignedOutSessions(TimeProvider? clock = null, Func<StackExchange.Redis.IDatabase>? shared = null,
    string sharedPrefix = "tlora-webui-signed-out")
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> until = new(StringComparer.Ordinal);
    private readonly TimeProvider time = clock ?? TimeProvider.System;

    public async Task SignOutAsync(string session, DateTimeOffset keepUntil)
    {
        var now = time.GetUtcNow();
        foreach (var (key, end) in until)
            if (end < now) until.TryRemove(key, out _);
        until[session] = keepUntil;
        // expires with the cookie it refuses
        if (shared is not null) await shared().StringSetAsync(SharedKey(session), "1", keepUntil - now).ConfigureAwait(false);
    }

    /// <summary>Whether <paramref name="session"/> was signed out here or, with Redis, on any replica. Asked on every
    /// request a cookie signs in and at each circuit's revalidation: the Redis look-up is awaited, not blocking a
    /// thread-pool thread per request.</summary>
    public async ValueTask<bool> IsSignedOutAsync(string session) =>
        until.ContainsKey(session) || (shared is not null && await shared().KeyExistsAsync(SharedKey(session)).ConfigureAwait(false));

    private StackExchange.Redis.RedisKey SharedKey(string session) => $"{sharedPrefix}:{session}";
}
