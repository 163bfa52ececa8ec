using Microsoft.Net.Http.Headers;

namespace TLoRA.Gateway.Security;

/// <summary>
/// What every response and every state change at the edge gets: security headers (nosniff, no framing, a CSP, no
/// referrer to other sites, the request's correlation id), and a refusal of cross-origin state changes (POST, PUT, PATCH, DELETE whose
/// Origin is another site that Gateway:AllowedOrigins does not list, or that the browser marks cross-site) — a form or
/// script on another site cannot act with whatever the browser holds. CORS is off unless Gateway:AllowedOrigins lists origins.
/// </summary>
public static partial class EdgeSecurity
{
    public const string CorrelationHeader = "X-Correlation-Id";

    /// <summary>The API's responses are data: nothing in them may load or run anything, nor be framed.</summary>
    public const string ApiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /// <summary>The UI's pages: own scripts, styles (components set inline styles), images (thumbnails are data: URLs) and
    /// the hub's WebSocket; never framed.</summary>
    public const string UiPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
                                   "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    public static void AddGatewayCors(this WebApplicationBuilder builder, IReadOnlyList<string> allowedOrigins) =>
        builder.Services.AddCors(o => o.AddDefaultPolicy(p =>
        {
            if (allowedOrigins.Count > 0) p.WithOrigins([.. allowedOrigins]).AllowAnyHeader().AllowAnyMethod();
        }));

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers[HeaderNames.XContentTypeOptions] = "nosniff";
            headers[HeaderNames.XFrameOptions] = "DENY";
            // not "no-referrer": with it browsers send "Origin: null" on this site's own form posts
            headers["Referrer-Policy"] = "same-origin";
            headers[CorrelationHeader] = context.TraceIdentifier;
            if (!headers.ContainsKey(HeaderNames.ContentSecurityPolicy))
                headers[HeaderNames.ContentSecurityPolicy] = IsUi(context.Request.Path) ? UiPolicy : ApiPolicy;
            return Task.CompletedTask;
        });
        return next(context);
    });

    public static IApplicationBuilder UseCrossOriginRefusal(this IApplicationBuilder app, IReadOnlyList<string> allowedOrigins) => app.Use(async (context, next) =>
    {
        var request = context.Request;
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method) || HttpMethods.IsTrace(request.Method)
            || !IsCrossOrigin(request, allowedOrigins))
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("TLoRA.Gateway.Edge");
        LogRefused(logger, request.Method, request.Path, request.Headers.Origin.ToString(), context.TraceIdentifier);
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = 403, Title = "Cross-origin request refused", Detail = "state changes are accepted only from this site or from Gateway:AllowedOrigins" },
        }).ConfigureAwait(false);
    });

    /// <summary>Another site's request: an Origin that is neither this host nor an allowed origin, or (without Origin)
    /// a browser's Sec-Fetch-Site: cross-site.</summary>
    public static bool IsCrossOrigin(HttpRequest request, IReadOnlyList<string> allowedOrigins)
    {
        var origin = request.Headers.Origin.ToString();
        var fetchSite = request.Headers["Sec-Fetch-Site"].ToString();
        if (origin.Length == 0) return string.Equals(fetchSite, "cross-site", StringComparison.OrdinalIgnoreCase);
        // "null" (privacy-sensitive contexts, sandboxed frames, file:): only the browser's own word makes it this site
        if (origin == "null") return !string.Equals(fetchSite, "same-origin", StringComparison.OrdinalIgnoreCase);
        if (allowedOrigins.Any(a => string.Equals(a.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase))) return false;
        // anything unparsable is foreign
        return !Uri.TryCreate(origin, UriKind.Absolute, out var uri) || !string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsUi(PathString path) =>
        !path.StartsWithSegments("/api") && !path.StartsWithSegments("/health") && !path.StartsWithSegments("/openapi") && !path.StartsWithSegments(GatewayAuth.HubPrefix);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path} from origin '{Origin}' refused as cross-origin (correlation {CorrelationId})")]
    private static partial void LogRefused(ILogger logger, string method, string path, string origin, string correlationId);
}
