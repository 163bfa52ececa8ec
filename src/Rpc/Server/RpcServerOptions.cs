using TLoRA.Rpc.Protocol;

namespace TLoRA.Rpc.Server;

/// <summary>Options of the gRPC server transport (<c>services.AddRpcServer(o => ...)</c>).</summary>
public sealed class RpcServerOptions
{
    /// <summary>
    /// The largest request message accepted, in bytes (default 4 MiB); larger ones fail with RESOURCE_EXHAUSTED
    /// before their body is read. Null: no limit.
    /// </summary>
    public int? MaxReceiveMessageSize { get; set; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>The largest response message sent, in bytes (default: no limit); larger ones fail the call with
    /// RESOURCE_EXHAUSTED.</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>
    /// When true, a handler's unexpected exception text is sent as the UNKNOWN status detail. Off by default: clients
    /// then see only a generic message, and the exception is logged.
    /// </summary>
    public bool EnableDetailedErrors { get; set; }
}
