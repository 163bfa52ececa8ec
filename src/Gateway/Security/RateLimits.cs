using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using TLoRA.Gateway.Services;

namespace TLoRA.Gateway.Security;

/// <summary>The "Gateway:Limits" section: what one owner (or, before authentication, one address) may do.</summary>
public sealed class LimitOptions
{
    public const string Section = "Gateway:Limits";

    /// <summary>Requests per second, sustained (a token bucket refilled every second).</summary>
    public int RequestsPerSecond { get; set; } = 20;

    /// <summary>Requests allowed at once above the sustained rate (the bucket's size).</summary>
    public int RequestBurst { get; set; } = 40;

    /// <summary>Hub connections (each an event stream) open at once.</summary>
    public int MaxStreams { get; set; } = 8;
}

public sealed class LimitOptionsValidator : IValidateOptions<LimitOptions>
{
    public ValidateOptionsResult Validate(string? name, LimitOptions o)
    {
        var errors = new List<string>();
        if (o.RequestsPerSecond < 1) errors.Add("Gateway:Limits:RequestsPerSecond must be at least 1");
        if (o.RequestBurst < o.RequestsPerSecond) errors.Add("Gateway:Limits:RequestBurst must be at least RequestsPerSecond");
        if (o.MaxStreams < 1) errors.Add("Gateway:Limits:MaxStreams must be at least 1");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>
/// Per-owner limits with ASP.NET Core rate limiting: every request (but /health and static files) takes a token from
/// its owner's bucket; the hub takes a concurrency permit per connection for as long as it is open. A refusal is 429
/// problem+json naming the limit, with Retry-After.
/// </summary>
public static class RateLimits
{
    public const string StreamsPolicy = "streams";

    public static void AddGatewayRateLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<LimitOptions>().Bind(builder.Configuration.GetSection(LimitOptions.Section)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<LimitOptions>, LimitOptionsValidator>();
        var limits = builder.Configuration.GetSection(LimitOptions.Section).Get<LimitOptions>() ?? new LimitOptions();
        builder.Services.AddRateLimiter(o =>
        {
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(c => Exempt(c.Request.Path)
                ? RateLimitPartition.GetNoLimiter("")
                : RateLimitPartition.GetTokenBucketLimiter(Partition(c), _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = Math.Max(limits.RequestBurst, 1),
                    TokensPerPeriod = Math.Max(limits.RequestsPerSecond, 1),
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                }));
            o.AddPolicy(StreamsPolicy, c => RateLimitPartition.GetConcurrencyLimiter(Partition(c),
                _ => new ConcurrencyLimiterOptions { PermitLimit = Math.Max(limits.MaxStreams, 1), QueueLimit = 0 }));
            o.OnRejected = (context, ct) => RejectAsync(context, limits);
        });
    }

    /// <summary>Whose budget a request spends: its authenticated owner, else its remote address.</summary>
    public static string Partition(HttpContext c) =>
        c.User.FindFirstValue(GatewayCaller.OwnerClaim) is { } owner ? "owner:" + owner : "address:" + c.Connection.RemoteIpAddress;

    private static bool Exempt(PathString path) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments("/_framework") || path.StartsWithSegments("/_content") ||
        (!path.StartsWithSegments("/api") && !path.StartsWithSegments(GatewayAuth.HubPrefix) && Path.HasExtension(path.Value));

    private static async ValueTask RejectAsync(OnRejectedContext context, LimitOptions limits)
    {
        var http = context.HttpContext;
        var requests = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter);
        var (setting, detail) = requests
            ? ($"{LimitOptions.Section}:RequestsPerSecond", $"more than {limits.RequestsPerSecond} requests per second (bursts of {limits.RequestBurst}) from one owner")
            : ($"{LimitOptions.Section}:MaxStreams", $"more than {limits.MaxStreams} hub connections open at once for one owner; close one first");
        var seconds = requests ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 5;
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = { Status = 429, Title = "Too many requests", Detail = detail, Extensions = { ["limit"] = setting, ["retryAfterSeconds"] = seconds } },
        }).ConfigureAwait(false);
    }
}
