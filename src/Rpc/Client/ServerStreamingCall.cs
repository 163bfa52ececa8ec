using System.Runtime.CompilerServices;
using Google.Protobuf;

namespace TLoRA.Rpc.Client;

/// <summary>
/// A server-streaming call in progress. Enumerate it (once) to read the messages: the enumeration ends after the
/// last message when the status is OK and throws <see cref="RpcException"/> for any other status. Leaving the
/// enumeration early, or disposing the call before the end, cancels it (RST_STREAM).
/// </summary>
/// <typeparam name="TResponse">The response message type.</typeparam>
public sealed class ServerStreamingCall<TResponse> : IAsyncEnumerable<TResponse>, IDisposable
    where TResponse : IMessage<TResponse>, new()
{
    private readonly ClientCall<TResponse> _call;
    private readonly Task _started;
    private int _enumerated;

    internal ServerStreamingCall(ClientCall<TResponse> call, IMessage request)
    {
        _call = call;
        _started = call.StartAsync(request);
        _ = _started.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
    }

    /// <summary>The server's response headers (custom metadata); faults with the call's <see cref="RpcException"/>
    /// when it fails before headers arrive.</summary>
    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeaders;

    /// <summary>The messages in order; see the class remarks. May be enumerated only once.</summary>
    public async IAsyncEnumerable<TResponse> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException("The response stream of a call can be enumerated only once.");
        }
        try
        {
            await _started.ConfigureAwait(false);
            while (await _call.ReadNextAsync(cancellationToken).ConfigureAwait(false) is { } message)
            {
                yield return message;
            }
        }
        finally
        {
            if (!_call.IsCompleted) _call.Abort();
        }
    }

    /// <inheritdoc />
    public IAsyncEnumerator<TResponse> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);

    /// <summary>The call's status; throws <see cref="InvalidOperationException"/> while the call is in progress.</summary>
    public Status GetStatus() => _call.Status ?? throw new InvalidOperationException("The call is still in progress.");

    /// <summary>The server's trailers (custom metadata); throws while the call is in progress.</summary>
    public Metadata GetTrailers() =>
        _call.IsCompleted ? _call.Trailers ?? new Metadata() : throw new InvalidOperationException("The call is still in progress.");

    /// <summary>Cancels the call if it is still in progress (RST_STREAM) and frees its resources.</summary>
    public void Dispose() => _call.Dispose();
}
