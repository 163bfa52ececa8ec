using TLoRA.Rpc.Protocol;

namespace TLoRA.Rpc.Client;

/// <summary>Options of an <see cref="RpcChannel"/>.</summary>
public sealed class RpcChannelOptions
{
    /// <summary>The largest response message accepted, in bytes (default 4 MiB); a larger one fails the call with
    /// RESOURCE_EXHAUSTED and resets the stream. Null: no limit.</summary>
    public int? MaxReceiveMessageSize { get; set; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>The largest request message sent, in bytes (default: no limit); larger ones fail with
    /// RESOURCE_EXHAUSTED before anything is sent.</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>
    /// The HTTP handler to send with. Default: a <see cref="System.Net.Http.SocketsHttpHandler"/> with multiple
    /// HTTP/2 connections, no proxy, and keep-alive pings.
    /// </summary>
    public HttpMessageHandler? HttpHandler { get; set; }

    /// <summary>Whether disposing the channel disposes <see cref="HttpHandler"/> (always true for the default).</summary>
    public bool DisposeHttpHandler { get; set; } = true;
}
