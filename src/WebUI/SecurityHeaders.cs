namespace TLoRA.WebUI;

/// <summary>
/// Headers every WebUI response carries: a content security policy that allows only this host's scripts, styles
/// (MudBlazor sets inline styles), images (previews arrive as data: thumbnails) and connections (the circuit's
/// WebSocket), and that no other site may frame the UI; no MIME sniffing; no referrer sent to other origins.
/// </summary>
public static class SecurityHeaders
{
    public const string Policy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
                                 "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = Policy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "same-origin";
        return next(context);
    });
}
