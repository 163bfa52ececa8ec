using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace TLoRA.GpuService.Service;

/// <summary>
/// Accepts only callers that hold the service token (the gateway): metadata <see cref="Header"/> must equal
/// GpuService:ServiceToken, compared in constant time; anything else is UNAUTHENTICATED before the call runs.
/// grpc.health.v1 stays open so that probes need no secret. With no token configured (Development only, see
/// <see cref="GpuServiceHost"/>) every call passes.
/// </summary>
public sealed class ServiceTokenInterceptor(GpuServiceOptions options) : Interceptor
{
    public const string Header = "tlora-service-token";
    private const string HealthPrefix = "/grpc.health.v1.Health/";

    private readonly byte[]? expected = string.IsNullOrEmpty(options.ServiceToken) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(options.ServiceToken));

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, responseStream, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Check(ServerCallContext context)
    {
        if (expected is null || context.Method.StartsWith(HealthPrefix, StringComparison.Ordinal)) return;
        var given = context.RequestHeaders.GetValue(Header);
        // Hashes of equal length, compared in constant time: neither the token's length nor its prefix leaks.
        if (given is null || !CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), expected))
            throw new RpcException(new Status(StatusCode.Unauthenticated, $"this service accepts only its gateway: send the service token as '{Header}' metadata"));
    }
}
