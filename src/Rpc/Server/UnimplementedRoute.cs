using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace TLoRA.Rpc.Server;

/// <summary>
/// The catch-all for gRPC requests (POST with a gRPC content type) to a service or method that is not mapped:
/// a trailers-only UNIMPLEMENTED, as real gRPC servers answer. Other requests do not match it.
/// </summary>
internal static class UnimplementedRoute
{
    public const string Pattern = "{**grpcUnimplementedPath}";

    public static RequestDelegate Create(RpcServerLifetime lifetime, ILogger logger) => async http =>
    {
        var path = http.Request.Path.Value ?? "/";
        if (!ServerCallHandler<object>.TryAcceptRequest(http, path, logger)) return;
        ServerLog.Unimplemented(logger, path);
        var segments = path.Trim('/').Split('/');
        var detail = segments.Length == 2 && lifetime.HasService(segments[0])
            ? $"Method is unimplemented: {path}"
            : $"Service is unimplemented: {path}";
        http.Response.Headers["grpc-status"] = ((int)StatusCode.Unimplemented).ToString(System.Globalization.CultureInfo.InvariantCulture);
        http.Response.Headers["grpc-message"] = Protocol.PercentEncoding.Encode(detail);
        await http.Response.CompleteAsync().ConfigureAwait(false);
    };

    /// <summary>Matches only POSTs whose content type is gRPC, so the app's own fallback routes keep working.</summary>
    public sealed class GrpcRequestConstraint : IRouteConstraint
    {
        public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values,
            RouteDirection routeDirection) =>
            httpContext is null ||
            (HttpMethods.IsPost(httpContext.Request.Method) &&
             Protocol.GrpcProtocol.IsGrpcContentType(httpContext.Request.ContentType));
    }
}
