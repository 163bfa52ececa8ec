using Microsoft.Extensions.Options;

namespace TLoRA.Gateway;

/// <summary>The "Gateway" configuration section.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>GPU service addresses (http:// or https://), e.g. http://127.0.0.1:50051.</summary>
    public List<string> Services { get; set; } = [];

    /// <summary>Largest accepted request body (the multipart upload of POST /api/jobs); default 20 MiB.</summary>
    public long MaxUploadBytes { get; set; } = 20 * 1024 * 1024;

    /// <summary>How often each service's grpc.health.v1 Check (and its queue length) is read.</summary>
    public double HealthCheckIntervalSeconds { get; set; } = 5;

    /// <summary>Deadline of every call that answers once (and of each download).</summary>
    public double CallTimeoutSeconds { get; set; } = 30;

    /// <summary>Deadline of a stream that follows jobs (WatchJob, WatchJobs): it is renewed before it runs out,
    /// without losing or repeating an event.</summary>
    public double WatchRenewMinutes { get; set; } = 30;

    /// <summary>HTTP/2 keep-alive pings on the connections to the services while calls are open: long, quiet streams
    /// stay open through proxies and a vanished service is noticed.</summary>
    public double KeepAlivePingSeconds { get; set; } = 30;

    public double KeepAlivePingTimeoutSeconds { get; set; } = 20;

    /// <summary>The secret every GPU service requires (its GpuService:ServiceToken), sent with each call.</summary>
    public string? ServiceToken { get; set; }
    /// <summary>Longest wait between attempts to reconnect to a service that went away (gRPC's default is 120 s): a GPU
    /// pod that restarts is called again within this of coming back.</summary>
    public double ReconnectBackoffMaxSeconds { get; set; } = 5;

    /// <summary>StackExchange.Redis connection string of the hub's backplane ("host:6379,password=..."); needed when the
    /// gateway runs as more than one replica, so hub messages reach connections held by another replica.</summary>
    public string? Redis { get; set; }

    /// <summary>Prefix of the backplane's Redis channels (several deployments may share one Redis).</summary>
    public string RedisChannelPrefix { get; set; } = "tlora";

    /// <summary>Origins (scheme://host[:port]) other sites' browser code may call the API from (CORS) and send state
    /// changes from; empty (the default): none, only this site.</summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>Proxies (addresses or CIDR networks) whose X-Forwarded-For the gateway believes: the Ingress
    /// controller's pods. Without them every caller behind the Ingress has its address, so the rate limit on
    /// unauthenticated callers (per address) is one bucket for everybody. Empty (the default): the header is ignored.
    /// See <see cref="Security.TrustedProxies"/>.</summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>Largest message accepted from a service (a sample image event carries a PNG); default 64 MiB.</summary>
    public int MaxReceiveMessageSize { get; set; } = 64 * 1024 * 1024;
}

/// <summary>Rejects a configuration the gateway cannot run with, at start.</summary>
public sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public const string TrustedProxiesSetting = GatewayOptions.Section + ":" + nameof(GatewayOptions.TrustedProxies);

    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = new List<string>();
        if (options.Services.Count == 0) errors.Add("Gateway:Services must list at least one GPU service address");
        foreach (var s in options.Services)
        {
            if (!Uri.TryCreate(s, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                errors.Add($"Gateway:Services entry '{s}' is not an absolute http:// or https:// address");
        }
        if (options.Services.Distinct(StringComparer.OrdinalIgnoreCase).Count() != options.Services.Count) errors.Add("Gateway:Services lists an address twice");
        if (options.MaxUploadBytes < 1024) errors.Add("Gateway:MaxUploadBytes must be at least 1024");
        if (options.HealthCheckIntervalSeconds is <= 0 or > 3600) errors.Add("Gateway:HealthCheckIntervalSeconds must be in (0, 3600]");
        if (options.CallTimeoutSeconds is <= 0 or > 3600) errors.Add("Gateway:CallTimeoutSeconds must be in (0, 3600]");
        if (options.WatchRenewMinutes is <= 0 or > 24 * 60) errors.Add("Gateway:WatchRenewMinutes must be in (0, 1440]");
        if (options.KeepAlivePingSeconds is <= 0 or > 3600) errors.Add("Gateway:KeepAlivePingSeconds must be in (0, 3600]");
        if (options.KeepAlivePingTimeoutSeconds is <= 0 or > 3600) errors.Add("Gateway:KeepAlivePingTimeoutSeconds must be in (0, 3600]");
        if (options.Redis is not null && !IsRedisConfiguration(options.Redis))
            errors.Add("Gateway:Redis is not a Redis connection string (host:port[,option=value...])");
        if (string.IsNullOrWhiteSpace(options.RedisChannelPrefix)) errors.Add("Gateway:RedisChannelPrefix must not be empty");
        if (options.ReconnectBackoffMaxSeconds is < 1 or > 600) errors.Add("Gateway:ReconnectBackoffMaxSeconds must be in [1, 600]");
        foreach (var o in options.AllowedOrigins)
        {
            if (!Uri.TryCreate(o, UriKind.Absolute, out var origin) || origin.AbsolutePath != "/" || o.EndsWith('/') || origin.Scheme is not ("http" or "https"))
                errors.Add($"Gateway:AllowedOrigins entry '{o}' is not an origin (scheme://host[:port], no path)");
        }
        if (!Security.TrustedProxies.TryParse(options.TrustedProxies, TrustedProxiesSetting, out _, out var proxyError)) errors.Add(proxyError!);
        if (options.MaxReceiveMessageSize < 1024 * 1024) errors.Add("Gateway:MaxReceiveMessageSize must be at least 1 MiB");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsRedisConfiguration(string value)
    {
        try
        {
            return StackExchange.Redis.ConfigurationOptions.Parse(value).EndPoints.Count > 0;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
