using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using TLoRA.Rpc.Protocol;

namespace TLoRA.Rpc.Client;

/// <summary>
/// One client call over HTTP/2: sends the request, validates the response headers (or trailers-only), reads
/// length-prefixed messages and turns the trailers into a status. Any failure or early end resets the stream.
/// </summary>
internal sealed class ClientCall<TResponse> : IDisposable where TResponse : IMessage<TResponse>, new()
{
    private static readonly MessageParser<TResponse> Parser = new(() => new TResponse());

    private readonly RpcChannel _channel;
    private readonly string _path;
    private readonly CallOptions _options;
    private readonly CancellationTokenSource _cts;
    private readonly CancellationTokenSource? _deadlineCts;
    private readonly TaskCompletionSource<Metadata> _headers = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private HttpResponseMessage? _response;
    private PipeReader? _reader;
    private volatile bool _deadlineExceeded;
    private readonly DateTime? _deadlineUtc;

    public ClientCall(RpcChannel channel, string path, CallOptions options)
    {
        _channel = channel;
        _path = path.StartsWith('/') ? path : "/" + path;
        _options = options;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken);
        _ = _headers.Task.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
        if (options.Deadline is { } deadline)
        {
            var utc = deadline.Kind == DateTimeKind.Local ? deadline.ToUniversalTime() : deadline;
            _deadlineUtc = utc == DateTime.MaxValue ? null : utc;
            Timeout = _deadlineUtc - DateTime.UtcNow;
            if (Timeout is { } t && t > TimeSpan.Zero && t < TimeSpan.FromDays(45))
            {
                _deadlineCts = new CancellationTokenSource();
                _deadlineCts.Token.Register(() =>
                {
                    _deadlineExceeded = true;
                    Abort();
                });
                _deadlineCts.CancelAfter(t);
            }
        }
        _cts.Token.Register(Abort);
    }

    /// <summary>Time left until the deadline when the call was created; null without a deadline.</summary>
    public TimeSpan? Timeout { get; }

    public Task<Metadata> ResponseHeaders => _headers.Task;

    public Status? Status { get; private set; }

    public Metadata? Trailers { get; private set; }

    public bool IsCompleted => Status is not null;

    public async Task StartAsync(IMessage request)
    {
        try
        {
            if (Timeout is { } t && t <= TimeSpan.Zero) _deadlineExceeded = true;
            ThrowIfCancelled();
            using var httpRequest = CreateRequest(request);
            _response = await _channel.HttpClient.SendAsync(httpRequest, HttpCompletionOption.ResponseHeadersRead, _cts.Token)
                .ConfigureAwait(false);
            var headers = ReadHeaders(_response);
            _headers.TrySetResult(headers);
            if (IsCompleted) return;
            var stream = await _response.Content.ReadAsStreamAsync(_cts.Token).ConfigureAwait(false);
            _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, leaveOpen: false));
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }
    }

    /// <summary>The next message; null after the last one when the status is OK; throws for any other status.</summary>
    public async ValueTask<TResponse?> ReadNextAsync(CancellationToken cancellationToken)
    {
        if (IsCompleted) return Status!.Value.StatusCode == StatusCode.OK ? default : throw new RpcException(Status!.Value, Trailers!);
        using var registration = cancellationToken.CanBeCanceled ? cancellationToken.Register(Abort) : default;
        try
        {
            var maxSize = _channel.Options.MaxReceiveMessageSize ?? int.MaxValue;
            while (true)
            {
                var result = await _reader!.ReadAsync(_cts.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                var examinedAll = true;
                try
                {
                    if (MessageFraming.TryReadMessage(ref buffer, maxSize, out var payload, out var compressed))
                    {
                        // Only the message is consumed and examined: what follows it (possibly whole messages that
                        // came in the same read) must be returned by the next ReadAsync without waiting for more bytes.
                        examinedAll = false;
                        if (compressed) throw new RpcException(MessageFraming.CompressedMessageStatus(
                            ResponseMetadata.GetHeader(_response!.Headers, GrpcProtocol.EncodingHeader)));
                        return Parse(payload);
                    }
                    if (result.IsCompleted)
                    {
                        if (!buffer.IsEmpty) throw new RpcException(new Status(StatusCode.Internal, "The response ended inside a message."));
                        Complete(ResponseMetadata.ReadTrailers(_response!));
                        return Status!.Value.StatusCode == StatusCode.OK ? default : throw new RpcException(Status!.Value, Trailers!);
                    }
                }
                finally
                {
                    if (examinedAll) _reader.AdvanceTo(buffer.Start, buffer.End);
                    else _reader.AdvanceTo(buffer.Start);
                }
            }
        }
        catch (Exception ex) when (ex is not RpcException || !IsCompleted)
        {
            if (cancellationToken.IsCancellationRequested && !_deadlineExceeded && ex is not RpcException)
            {
                throw Fail(new OperationCanceledException(cancellationToken), Rpc.Status.DefaultCancelled);
            }
            throw Fail(ex);
        }
    }

    private HttpRequestMessage CreateRequest(IMessage request)
    {
        var body = new ArrayBufferWriter<byte>(GrpcProtocol.MessageHeaderSize + 64);
        MessageFraming.WriteMessage(body, request, _channel.Options.MaxSendMessageSize);
        var content = new ReadOnlyMemoryContent(body.WrittenMemory);
        content.Headers.ContentType = new MediaTypeHeaderValue(GrpcProtocol.ContentType);
        var message = new HttpRequestMessage(HttpMethod.Post, new Uri(_channel.Address, _path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var headers = message.Headers;
        // The time left now, as the request leaves (at least 1 tick: an expired deadline never reaches this point).
        if (_deadlineUtc is { } deadline)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(deadline - DateTime.UtcNow));
        }
        headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        headers.TryAddWithoutValidation("user-agent", GrpcProtocol.UserAgent);
        headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, GrpcProtocol.IdentityEncoding);
        if (_options.Headers is { } metadata)
        {
            foreach (var entry in metadata)
            {
                if (!GrpcProtocol.IsReservedHeader(entry.Key)) headers.TryAddWithoutValidation(entry.Key, MetadataCodec.Encode(entry));
            }
        }
        return message;
    }

    /// <summary>Validates the response headers; a trailers-only response completes the call here.</summary>
    private Metadata ReadHeaders(HttpResponseMessage response)
    {
        var status = ResponseMetadata.GetHeader(response.Headers, GrpcProtocol.StatusHeader);
        if (response.StatusCode != HttpStatusCode.OK && status is null)
        {
            throw new RpcException(StatusMapping.FromHttpStatus(response.StatusCode));
        }
        var contentType = response.Content.Headers.NonValidated.TryGetValues("content-type", out var ct) ? ct.ToString() : null;
        if (!GrpcProtocol.IsGrpcContentType(contentType) && status is null)
        {
            throw new RpcException(new Status(StatusCode.Unknown, $"Bad gRPC response. Invalid content-type value: {contentType}"));
        }
        var metadata = ResponseMetadata.ToMetadata(response.Headers);
        if (status is not null)
        {
            Complete((ResponseMetadata.ParseStatus(status, ResponseMetadata.GetHeader(response.Headers, GrpcProtocol.MessageHeader)), metadata));
        }
        return metadata;
    }

    private void Complete((Status Status, Metadata Trailers) outcome)
    {
        Trailers = outcome.Trailers;
        Status = outcome.Status;
        if (outcome.Status.StatusCode != StatusCode.OK) Abort();
    }

    private static TResponse Parse(ReadOnlySequence<byte> payload)
    {
        try
        {
            return Parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException)
        {
            throw new RpcException(new Status(StatusCode.Internal, "Failed to deserialize the response message."));
        }
    }

    private void ThrowIfCancelled()
    {
        if (_deadlineExceeded || _cts.IsCancellationRequested) throw new OperationCanceledException();
    }

    /// <summary>Ends the call with the status <paramref name="ex"/> stands for, resets the stream, returns the exception.</summary>
    private RpcException Fail(Exception ex, Status? status = null)
    {
        Status final;
        if (_deadlineExceeded) final = new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        else if (status is { } s) final = s;
        else if (ex is RpcException rpc) final = rpc.Status;
        else if (_options.CancellationToken.IsCancellationRequested) final = Rpc.Status.DefaultCancelled;
        else final = StatusMapping.FromException(ex);
        Trailers ??= ex is RpcException r ? r.Trailers : new Metadata();
        Status ??= final;
        Abort();
        _headers.TrySetException(new RpcException(final, Trailers));
        return new RpcException(final, Trailers, $"{final} ({_path})");
    }

    /// <summary>Resets the HTTP/2 stream if it is still open (RST_STREAM CANCEL); idempotent.</summary>
    public void Abort()
    {
        try
        {
            if (!_cts.IsCancellationRequested) _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        _response?.Dispose();
    }

    public void Dispose()
    {
        Abort();
        _deadlineCts?.Dispose();
        _cts.Dispose();
    }
}
