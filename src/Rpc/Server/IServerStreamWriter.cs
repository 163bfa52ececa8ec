namespace TLoRA.Rpc.Server;

/// <summary>Writes the messages of a server-streaming call, in order; one write at a time.</summary>
/// <typeparam name="T">The response message type.</typeparam>
public interface IServerStreamWriter<in T>
{
    /// <summary>
    /// Sends one message and flushes it to the client. Throws <see cref="OperationCanceledException"/> when the call
    /// is cancelled (client cancel, deadline, shutdown) and <see cref="InvalidOperationException"/> once the call has
    /// completed.
    /// </summary>
    Task WriteAsync(T message, CancellationToken cancellationToken = default);
}
