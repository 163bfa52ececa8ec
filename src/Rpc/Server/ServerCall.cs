using System.Net.Sockets;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using TLoRA.Rpc.Protocol;

namespace TLoRA.Rpc.Server;

/// <summary>
/// The state of one server call: its cancellation (client RST_STREAM, deadline, shutdown), serialized writes to the
/// response, and the single completion that sends the status (in trailers, or trailers-only when nothing was sent).
/// </summary>
internal sealed class ServerCall : IDisposable
{
    private readonly HttpContext _http;
    private readonly CancellationTokenSource _cts;
    private readonly CancellationTokenSource? _deadlineCts;
    private readonly TaskCompletionSource _deadlineReached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly int? _maxSendSize;
    private readonly CancellationToken _shutdown;
    private bool _completed;
    private bool _messageWritten;
    private bool _headersWritten;

    public ServerCall(HttpContext http, string method, TimeSpan? timeout, CancellationToken shutdown, int? maxSendSize)
    {
        _http = http;
        _shutdown = shutdown;
        _maxSendSize = maxSendSize;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, shutdown);
        DateTime? deadline = null;
        if (timeout is { } t)
        {
            var now = DateTime.UtcNow;
            deadline = t >= DateTime.MaxValue - now ? DateTime.MaxValue : now + t;
            // CancelAfter takes at most ~49 days; a longer deadline cannot fire while this process runs anyway.
            if (t < TimeSpan.FromDays(45))
            {
                _deadlineCts = new CancellationTokenSource();
                _deadlineCts.Token.Register(OnDeadline);
                _deadlineCts.CancelAfter(t);
            }
        }
        var requestHeaders = new Metadata();
        foreach (var (name, values) in http.Request.Headers)
        {
            foreach (var value in values) MetadataCodec.AddHeader(requestHeaders, name, value);
        }
        Context = new ServerCallContext(method, http.Request.Host.Value ?? "", FormatPeer(http.Connection), deadline,
            requestHeaders, _cts.Token, http, WriteResponseHeadersAsync);
    }

    public ServerCallContext Context { get; }

    public CancellationToken Token => _cts.Token;

    /// <summary>Completes when the deadline passes.</summary>
    public Task DeadlineReached => _deadlineReached.Task;

    public bool DeadlineExceeded { get; private set; }

    public bool ClientCancelled => _http.RequestAborted.IsCancellationRequested;

    public bool ShuttingDown => _shutdown.IsCancellationRequested;

    public async Task WriteMessageAsync(IMessage message, bool flush, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _cts.Token.ThrowIfCancellationRequested();
            if (_completed) throw new InvalidOperationException("The call has already completed; no more messages can be written.");
            MessageFraming.WriteMessage(_http.Response.BodyWriter, message, _maxSendSize);
            _messageWritten = true;
            if (flush)
            {
                var result = await _http.Response.BodyWriter.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (result.IsCanceled) throw new OperationCanceledException(cancellationToken);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task WriteResponseHeadersAsync(Metadata headers)
    {
        await _writeLock.WaitAsync(_cts.Token).ConfigureAwait(false);
        try
        {
            if (_completed || _headersWritten || _messageWritten || _http.Response.HasStarted)
            {
                throw new InvalidOperationException("Response headers can only be written once, before any message.");
            }
            foreach (var entry in headers)
            {
                if (!GrpcProtocol.IsReservedHeader(entry.Key)) _http.Response.Headers.Append(entry.Key, entry.Value);
            }
            _headersWritten = true;
            await _http.Response.StartAsync(_cts.Token).ConfigureAwait(false);
            await _http.Response.BodyWriter.FlushAsync(_cts.Token).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Sends the status once: in the trailers after the messages, or as a trailers-only response when no headers or
    /// message went out. A no-op when the client has already reset the stream or the call completed before.
    /// </summary>
    public async Task CompleteAsync(Status status, Metadata? extraTrailers)
    {
        await _writeLock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (_completed) return;
            _completed = true;
            if (ClientCancelled) return;
            var response = _http.Response;
            var trailersOnly = !response.HasStarted && !_messageWritten && !_headersWritten;
            void Add(string name, string value)
            {
                if (trailersOnly) response.Headers.Append(name, value);
                else response.AppendTrailer(name, value);
            }
            Add(GrpcProtocol.StatusHeader, ((int)status.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (!string.IsNullOrEmpty(status.Detail)) Add(GrpcProtocol.MessageHeader, PercentEncoding.Encode(status.Detail));
            foreach (var trailers in new[] { Context.ResponseTrailers, extraTrailers })
            {
                if (trailers is null) continue;
                foreach (var entry in trailers)
                {
                    if (!GrpcProtocol.IsReservedHeader(entry.Key)) Add(entry.Key, MetadataCodec.Encode(entry));
                }
            }
            await response.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception) when (ClientCancelled)
        {
            // The client went away while the status was being sent; nothing more can reach it.
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void OnDeadline()
    {
        DeadlineExceeded = true;
        _deadlineReached.TrySetResult();
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The call ended in the meantime.
        }
    }

    private static string FormatPeer(ConnectionInfo connection)
    {
        var ip = connection.RemoteIpAddress;
        if (ip is null) return "unknown";
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        return ip.AddressFamily == AddressFamily.InterNetworkV6
            ? $"ipv6:[{ip}]:{connection.RemotePort}"
            : $"ipv4:{ip}:{connection.RemotePort}";
    }

    public void Dispose()
    {
        _deadlineCts?.Dispose();
        _cts.Dispose();
    }
}
