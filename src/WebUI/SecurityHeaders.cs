namespace TLoRA.WebUI;

/// <summary>
/// Headers every WebUI response carries: a content security policy that allows only this host's scripts, styles
/// (MudBlazor sets inline styles), images (previews arrive as data: thumbnails) and connections (the circuit's
/// WebSocket), and that no other site may frame the UI; no MIME sniffing; no referrer sent to other origins. Forms post
/// to this host only, plus the OIDC authority when there is one (signing out redirects there: browsers hold a form's
/// redirects to form-action too).
/// </summary>
public static class SecurityHeaders
{
    public const string Policy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
                                 "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>The policy, with <paramref name="authorityOrigin"/> (e.g. https://login.example.com) also allowed as a form target.</summary>
    public static string PolicyFor(string? authorityOrigin) =>
        authorityOrigin is null ? Policy : Policy.Replace("form-action 'self'", $"form-action 'self' {authorityOrigin}", StringComparison.Ordinal);

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app, string? authorityOrigin = null)
    {
        var policy = PolicyFor(authorityOrigin);
        return app.Use((context, next) =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = policy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "same-origin";
            return next(context);
        });
    }
}
