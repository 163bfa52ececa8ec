using System.Net;
using Google.Protobuf;
using MethodDescriptor = Google.Protobuf.Reflection.MethodDescriptor;

namespace TLoRA.Rpc.Client;

/// <summary>
/// A gRPC client channel to one server address over HTTP/2 (<c>http://</c>: cleartext with prior knowledge;
/// <c>https://</c>: TLS with ALPN). Thread-safe; create one per server and reuse it for every call.
/// </summary>
public sealed class RpcChannel : IDisposable
{
    /// <summary>Creates a channel to <paramref name="address"/>, e.g. <c>http://127.0.0.1:50051</c>.</summary>
    public RpcChannel(Uri address, RpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"Address '{address}' must be http:// or https://.", nameof(address));
        }
        Address = address;
        Options = options ?? new RpcChannelOptions();
        var handler = Options.HttpHandler ?? CreateDefaultHandler();
        HttpClient = new HttpClient(handler, Options.HttpHandler is null || Options.DisposeHttpHandler)
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>Creates a channel to <paramref name="address"/>, e.g. <c>"http://127.0.0.1:50051"</c>.</summary>
    public static RpcChannel ForAddress(string address, RpcChannelOptions? options = null) => new(new Uri(address), options);

    /// <summary>The server address.</summary>
    public Uri Address { get; }

    /// <summary>The channel's options.</summary>
    public RpcChannelOptions Options { get; }

    internal HttpClient HttpClient { get; }

    /// <summary>
    /// Calls a unary method. <paramref name="method"/> is the full name, <c>/package.Service/Method</c> (the leading
    /// slash optional). Throws <see cref="RpcException"/> for any non-OK status.
    /// </summary>
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(string method, TRequest request, CallOptions options = default)
        where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>, new() =>
        (await UnaryCallAsync<TRequest, TResponse>(method, request, options).ConfigureAwait(false)).Response;

    /// <summary>Calls a unary method given by its protobuf descriptor.</summary>
    public Task<TResponse> UnaryAsync<TRequest, TResponse>(MethodDescriptor method, TRequest request, CallOptions options = default)
        where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>, new() =>
        UnaryAsync<TRequest, TResponse>(PathOf(method), request, options);

    /// <summary>Calls a unary method and returns the response with the response headers and trailers.</summary>
    public async Task<UnaryResult<TResponse>> UnaryCallAsync<TRequest, TResponse>(string method, TRequest request,
        CallOptions options = default) where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(request);
        using var call = new ClientCall<TResponse>(this, method, options);
        await call.StartAsync(request).ConfigureAwait(false);
        var response = await call.ReadNextAsync(CancellationToken.None).ConfigureAwait(false);
        if (response is null)
        {
            throw new RpcException(new Status(StatusCode.Internal, "No message returned for a unary call."), call.Trailers ?? new Metadata());
        }
        if (await call.ReadNextAsync(CancellationToken.None).ConfigureAwait(false) is not null)
        {
            throw new RpcException(new Status(StatusCode.Internal, "More than one message returned for a unary call."));
        }
        return new UnaryResult<TResponse>(response, await call.ResponseHeaders.ConfigureAwait(false), call.Trailers ?? new Metadata());
    }

    /// <summary>Calls a unary method given by its protobuf descriptor; see the string overload.</summary>
    public Task<UnaryResult<TResponse>> UnaryCallAsync<TRequest, TResponse>(MethodDescriptor method, TRequest request,
        CallOptions options = default) where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>, new() =>
        UnaryCallAsync<TRequest, TResponse>(PathOf(method), request, options);

    /// <summary>
    /// Starts a server-streaming call (<paramref name="method"/>: <c>/package.Service/Method</c>); enumerate the
    /// returned call for the messages. Dispose it when done.
    /// </summary>
    public ServerStreamingCall<TResponse> ServerStreaming<TRequest, TResponse>(string method, TRequest request,
        CallOptions options = default) where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(request);
        return new ServerStreamingCall<TResponse>(new ClientCall<TResponse>(this, method, options), request);
    }

    /// <summary>Starts a server-streaming call given by its protobuf descriptor.</summary>
    public ServerStreamingCall<TResponse> ServerStreaming<TRequest, TResponse>(MethodDescriptor method, TRequest request,
        CallOptions options = default) where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>, new() =>
        ServerStreaming<TRequest, TResponse>(PathOf(method), request, options);

    /// <summary>Closes the channel's connections.</summary>
    public void Dispose() => HttpClient.Dispose();

    private static string PathOf(MethodDescriptor method) => $"/{method.Service.FullName}/{method.Name}";

    private static SocketsHttpHandler CreateDefaultHandler() => new()
    {
        EnableMultipleHttp2Connections = true,
        UseProxy = false,
        UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionIdleTimeout = System.Threading.Timeout.InfiniteTimeSpan,
        KeepAlivePingDelay = TimeSpan.FromSeconds(60),
        KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
        KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        ConnectTimeout = TimeSpan.FromSeconds(20),
    };
}
