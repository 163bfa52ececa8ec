using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TLoRA.Rpc.Protocol;

namespace TLoRA.Rpc.Server;

/// <summary>The request delegate of one bound rpc: protocol checks, the call's lifecycle and its final status.</summary>
internal sealed class ServerCallHandler<TService>(ServerMethod method, RpcServerOptions options, RpcServerLifetime lifetime,
    ILogger logger) where TService : class
{
    private static readonly ObjectFactory Factory = ActivatorUtilities.CreateFactory(typeof(TService), Type.EmptyTypes);

    public async Task HandleAsync(HttpContext http)
    {
        if (!TryAcceptRequest(http, method.Path, logger)) return;
        var start = Stopwatch.GetTimestamp();
        TimeSpan? timeout = null;
        var timeoutHeader = http.Request.Headers[GrpcProtocol.TimeoutHeader].ToString();
        if (timeoutHeader.Length > 0)
        {
            if (GrpcTimeout.TryParse(timeoutHeader, out var t)) timeout = t;
            else ServerLog.InvalidTimeout(logger, method.Path, timeoutHeader);
        }

        using var call = new ServerCall(http, method.Path, timeout, lifetime.Stopping, options.MaxSendMessageSize);
        Status status;
        Metadata? trailers = null;
        if (lifetime.Stopping.IsCancellationRequested)
        {
            status = new Status(StatusCode.Unavailable, "The server is shutting down.");
        }
        else
        {
            var work = RunAsync(http, call);
            if (timeout is not null && await Task.WhenAny(work, call.DeadlineReached).ConfigureAwait(false) != work)
            {
                // Deadline first: answer DEADLINE_EXCEEDED now, then let the (cancelled) handler wind down.
                status = new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
                await call.CompleteAsync(status, null).ConfigureAwait(false);
                await work.ConfigureAwait(false);
            }
            else
            {
                (status, trailers) = await work.ConfigureAwait(false);
            }
        }
        if (call.ClientCancelled && status.StatusCode != StatusCode.DeadlineExceeded)
        {
            status = new Status(StatusCode.Cancelled, "The client cancelled the call.");
        }
        await call.CompleteAsync(status, trailers).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        var level = status.StatusCode switch
        {
            StatusCode.OK => LogLevel.Debug,
            StatusCode.Unknown or StatusCode.Internal or StatusCode.DataLoss => LogLevel.Warning,
            _ => LogLevel.Information,
        };
        ServerLog.CallFinished(logger, level, method.Path, status.StatusCode.ToCanonicalName(), status.Detail, elapsed);
    }

    private async Task<(Status, Metadata?)> RunAsync(HttpContext http, ServerCall call)
    {
        TService? created = null;
        try
        {
            // Per call, from the request's DI scope: a registered service as registered, else constructed with DI.
            var service = http.RequestServices.GetService<TService>();
            service ??= created = (TService)Factory(http.RequestServices, null);
            var maxReceive = options.MaxReceiveMessageSize ?? int.MaxValue;
            var request = await RequestReader.ReadSingleAsync(http.Request, method.RequestParser, maxReceive, call.Token)
                .ConfigureAwait(false);
            await method.InvokeAsync(service, request, call).ConfigureAwait(false);
            return (Status.DefaultSuccess, null);
        }
        catch (RpcException ex)
        {
            return (ex.Status, ex.Trailers);
        }
        catch (Exception ex) when (call.Token.IsCancellationRequested)
        {
            // The handler saw the cancellation (or failed because of it): the status says why it was cancelled.
            if (call.DeadlineExceeded) return (new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"), null);
            if (call.ClientCancelled) return (new Status(StatusCode.Cancelled, "The client cancelled the call."), null);
            if (call.ShuttingDown) return (new Status(StatusCode.Unavailable, "The server is shutting down."), null);
            ServerLog.HandlerFailed(logger, method.Path, ex);
            return (UnknownStatus(ex), null);
        }
        catch (Exception ex)
        {
            ServerLog.HandlerFailed(logger, method.Path, ex);
            return (UnknownStatus(ex), null);
        }
        finally
        {
            if (created is IAsyncDisposable asyncDisposable) await asyncDisposable.DisposeAsync().ConfigureAwait(false);
            else if (created is IDisposable disposable) disposable.Dispose();
        }
    }

    private Status UnknownStatus(Exception ex) => new(StatusCode.Unknown,
        options.EnableDetailedErrors ? $"Exception was thrown by handler. {ex.GetType().Name}: {ex.Message}" : "Exception was thrown by handler.");

    /// <summary>
    /// The checks before a call exists: gRPC content type (else HTTP 415) and HTTP/2 (else 426). Also lifts
    /// Kestrel's request-body size and data-rate limits, which gRPC replaces with its own message-size limit.
    /// </summary>
    internal static bool TryAcceptRequest(HttpContext http, string path, ILogger logger)
    {
        if (!GrpcProtocol.IsGrpcContentType(http.Request.ContentType))
        {
            ServerLog.UnsupportedContentType(logger, path, http.Request.ContentType ?? "(none)");
            http.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return false;
        }
        if (!HttpProtocol.IsHttp2(http.Request.Protocol) && !HttpProtocol.IsHttp3(http.Request.Protocol))
        {
            ServerLog.UnsupportedProtocol(logger, path, http.Request.Protocol);
            http.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            http.Response.Headers.Upgrade = "h2c";
            return false;
        }
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = null;
        if (http.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } requestRate) requestRate.MinDataRate = null;
        if (http.Features.Get<IHttpMinResponseDataRateFeature>() is { } responseRate) responseRate.MinDataRate = null;
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = GrpcProtocol.ContentType;
        http.Response.Headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.IdentityEncoding;
        return true;
    }
}
