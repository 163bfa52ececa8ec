using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace TLoRA.Rpc.Server;

/// <summary>One bound rpc: its descriptor and a compiled call into the service's C# method.</summary>
internal abstract class ServerMethod
{
    protected ServerMethod(MethodDescriptor descriptor)
    {
        Descriptor = descriptor;
        Path = $"/{descriptor.Service.FullName}/{descriptor.Name}";
    }

    public MethodDescriptor Descriptor { get; }

    /// <summary>The HTTP/2 :path, <c>/package.Service/Method</c>.</summary>
    public string Path { get; }

    public MessageParser RequestParser => Descriptor.InputType.Parser;

    /// <summary>Runs the handler on <paramref name="service"/> and writes its response message(s).</summary>
    public abstract Task InvokeAsync(object service, IMessage request, ServerCall call);
}

/// <summary>A unary rpc: <c>Task&lt;TRes&gt; Name(TReq request, ServerCallContext context)</c>.</summary>
internal sealed class UnaryServerMethod<TService, TRequest, TResponse>(MethodDescriptor descriptor,
    Func<TService, TRequest, ServerCallContext, Task<TResponse>> handler) : ServerMethod(descriptor)
    where TRequest : IMessage where TResponse : IMessage
{
    public override async Task InvokeAsync(object service, IMessage request, ServerCall call)
    {
        var response = await handler((TService)service, (TRequest)request, call.Context).ConfigureAwait(false);
        if (response is null) throw new InvalidOperationException($"Handler of {Path} returned a null response.");
        await call.WriteMessageAsync(response, flush: false, call.Token).ConfigureAwait(false);
    }
}

/// <summary>A server-streaming rpc:
/// <c>Task Name(TReq request, IServerStreamWriter&lt;TRes&gt; responseStream, ServerCallContext context)</c>.</summary>
internal sealed class ServerStreamingServerMethod<TService, TRequest, TResponse>(MethodDescriptor descriptor,
    Func<TService, TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler) : ServerMethod(descriptor)
    where TRequest : IMessage where TResponse : IMessage
{
    public override Task InvokeAsync(object service, IMessage request, ServerCall call) =>
        handler((TService)service, (TRequest)request, new Writer(call), call.Context);

    private sealed class Writer(ServerCall call) : IServerStreamWriter<TResponse>
    {
        public Task WriteAsync(TResponse message, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(message);
            return cancellationToken.CanBeCanceled && cancellationToken != call.Token
                ? WriteLinkedAsync(message, cancellationToken)
                : call.WriteMessageAsync(message, flush: true, call.Token);
        }

        private async Task WriteLinkedAsync(TResponse message, CancellationToken cancellationToken)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, call.Token);
            await call.WriteMessageAsync(message, flush: true, linked.Token).ConfigureAwait(false);
        }
    }
}
