using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Options;
using TLoRA.Contracts.V1;
using TLoRA.Gateway.Api;

namespace TLoRA.Gateway.Services;

/// <summary>
/// Keeps one WatchJobs stream open per GPU service in the pool and hands every event, of every job, to in-process
/// subscribers as it happens. Each stream has a deadline: before it runs out the next stream is opened, and only once
/// that one is watching is the old one ended, so nothing falls between them (events both streams carry are passed on
/// once). A stream that fails is reopened after a short backoff (1 s, doubling to 10 s; back to 1 s once connected);
/// <see cref="Connected"/> fires after each such (re)connection, since events published while a stream was down are
/// not replayed.
/// </summary>
public sealed partial class JobFeed(GpuServicePool pool, GpuClient client, IOptions<GatewayOptions> options, ILogger<JobFeed> logger)
    : BackgroundService
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(10);

    /// <summary>How long an old stream is read after its successor is watching, when no event shows the two have met
    /// (an idle service): long enough for an event already on its way to arrive.</summary>
    private static readonly TimeSpan HandOverLimit = TimeSpan.FromSeconds(2);
    private readonly Lock gate = new();
    private Action<JobEvent>[] subscribers = [];

    /// <summary>Raised after a service's feed (re)connects, so listeners reload lists they may have missed events
    /// for; the argument is the service address. Handler exceptions are logged, not thrown.</summary>
    public event Action<string>? Connected;

    /// <summary>Calls <paramref name="onEvent"/> with every JobEvent from every service, as it happens, until the
    /// returned handle is disposed. Each service's events arrive in order on that service's reader (calls for
    /// different services may overlap), so a subscriber must be quick and thread-safe; its exceptions are logged and
    /// do not stop the feed.</summary>
    public IDisposable Subscribe(Action<JobEvent> onEvent)
    {
        ArgumentNullException.ThrowIfNull(onEvent);
        lock (gate) subscribers = [.. subscribers, onEvent];
        return new Subscription(this, onEvent);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(pool.Endpoints.Select(e => Task.Run(() => FollowAsync(e, stoppingToken), CancellationToken.None)));

    /// <summary>One service's streams, renewed and reopened until the gateway stops.</summary>
    private async Task FollowAsync(ServiceEndpoint endpoint, CancellationToken ct)
    {
        var address = endpoint.Address.ToString();
        var renew = TimeSpan.FromMinutes(options.Value.WatchRenewMinutes);
        var delay = FirstRetry;
        var dedup = new Deduplicator();
        while (!ct.IsCancellationRequested)
        {
            FeedStream? stream = null;
            try
            {
                stream = new FeedStream(await client.OpenJobsFeedAsync(endpoint, ct).ConfigureAwait(false));
                delay = FirstRetry;
                LogConnected(logger, address);
                RaiseConnected(address);
                while (true)
                {
                    await stream.ReadUntilAsync(DateTime.UtcNow + renew, e => Dispatch(dedup, e), ct).ConfigureAwait(false);
                    var next = new FeedStream(await client.OpenJobsFeedAsync(endpoint, ct).ConfigureAwait(false));
                    await stream.HandOverAsync(next, HandOverLimit, e => Dispatch(dedup, e), ct).ConfigureAwait(false);
                    stream.Dispose();
                    dedup.Forget();
                    stream = next;
                    LogRenewed(logger, address);
                }
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogLost(logger, address, e is RpcException r ? $"{r.StatusCode}: {r.Status.Detail}" : e.Message, delay.TotalSeconds);
            }
            finally
            {
                stream?.Dispose();
            }
            try
            {
                await Task.Delay(delay, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetry.Ticks));
        }
    }

    private void Dispatch(Deduplicator dedup, JobEvent e)
    {
        if (!dedup.IsNew(e)) return;
        Action<JobEvent>[] current;
        lock (gate) current = subscribers;
        foreach (var s in current)
        {
            try
            {
                s(e);
            }
            catch (Exception ex)
            {
                LogSubscriberFailed(logger, ex);
            }
        }
    }

    private void RaiseConnected(string address)
    {
        if (Connected is not { } handlers) return;
        foreach (var h in handlers.GetInvocationList().Cast<Action<string>>())
        {
            try
            {
                h(address);
            }
            catch (Exception ex)
            {
                LogSubscriberFailed(logger, ex);
            }
        }
    }

    private void Unsubscribe(Action<JobEvent> onEvent)
    {
        lock (gate)
        {
            var i = Array.IndexOf(subscribers, onEvent);
            if (i >= 0) subscribers = [.. subscribers[..i], .. subscribers[(i + 1)..]];
        }
    }

    /// <summary>One WatchJobs call, read into a queue by its own loop so that it can be ended while another is open.</summary>
    private sealed class FeedStream : IDisposable
    {
        private readonly AsyncServerStreamingCall<JobEvent> call;
        private readonly Channel<JobEvent> events = Channel.CreateUnbounded<JobEvent>(new UnboundedChannelOptions { SingleReader = true });
        private readonly CancellationTokenSource end = new();

        public FeedStream(AsyncServerStreamingCall<JobEvent> call)
        {
            this.call = call;
            _ = Task.Run(PumpAsync);
        }

        private JobEvent? first;

        /// <summary>The first event this stream received (null until one arrives).</summary>
        public JobEvent? First => Volatile.Read(ref first);

        private async Task PumpAsync()
        {
            try
            {
                while (await call.ResponseStream.MoveNext(end.Token).ConfigureAwait(false))
                {
                    Interlocked.CompareExchange(ref first, call.ResponseStream.Current, null);
                    await events.Writer.WriteAsync(call.ResponseStream.Current).ConfigureAwait(false);
                }
                events.Writer.TryComplete(new RpcException(new Status(StatusCode.Unavailable, "the service ended the stream")));
            }
            catch (Exception e)
            {
                events.Writer.TryComplete(e);
            }
        }

        /// <summary>Hands over events until <paramref name="until"/>; throws when the stream ends or fails first.</summary>
        public async Task ReadUntilAsync(DateTime until, Action<JobEvent> onEvent, CancellationToken ct)
        {
            while (true)
            {
                var left = until - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return;
                using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timer.CancelAfter(left);
                try
                {
                    if (!await events.Reader.WaitToReadAsync(timer.Token).ConfigureAwait(false)) await events.Reader.Completion.ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    return;
                }
                while (events.Reader.TryRead(out var e)) onEvent(e);
            }
        }

        /// <summary>Hands over this (older) stream's events until it has caught up with <paramref name="next"/>, then
        /// ends it. Events published before <paramref name="next"/> subscribed may still be on their way on this one: it
        /// is read until it delivers <paramref name="next"/>'s first event (the service sends every event to both in
        /// the same order, so all before it have arrived), or for <paramref name="limit"/> when nothing is published.
        /// Ending it at once lost such events (RenewalTests: sequence 7 of 28 missing under load).</summary>
        public async Task HandOverAsync(FeedStream next, TimeSpan limit, Action<JobEvent> onEvent, CancellationToken ct)
        {
            var until = DateTime.UtcNow + limit;
            var delivered = new HashSet<(string, long)>();
            while (DateTime.UtcNow < until && !ct.IsCancellationRequested)
            {
                while (events.Reader.TryRead(out var e))
                {
                    onEvent(e);
                    delivered.Add((e.JobId, e.Sequence));
                }
                if (next.First is { } meet && delivered.Contains((meet.JobId, meet.Sequence))) break;
                if (events.Reader.Completion.IsCompleted) break;
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                wait.CancelAfter(TimeSpan.FromMilliseconds(50));
                try
                {
                    await events.Reader.WaitToReadAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // look again: the successor may have received its first event meanwhile
                }
                catch (Exception)
                {
                    break; // this stream failed: its successor carries on
                }
            }
            await EndAsync(onEvent).ConfigureAwait(false);
        }

        /// <summary>Ends the call and hands over what it had received.</summary>
        public async Task EndAsync(Action<JobEvent> onEvent)
        {
            await end.CancelAsync().ConfigureAwait(false);
            try
            {
                while (await events.Reader.WaitToReadAsync().ConfigureAwait(false))
                    while (events.Reader.TryRead(out var e)) onEvent(e);
            }
            catch (Exception)
            {
                // the call ended as asked (its reader completes with the cancellation)
            }
        }

        public void Dispose()
        {
            end.Cancel();
            call.Dispose();
            end.Dispose();
        }
    }

    /// <summary>Each job's newest sequence passed on, so an event two overlapping streams carry goes out once. A job
    /// that finished is forgotten two renewals later: by then every stream that could repeat its end has been read.</summary>
    private sealed class Deduplicator
    {
        private readonly Dictionary<string, long> newest = [];
        private List<string> finishedBefore = [];
        private List<string> finished = [];

        public bool IsNew(JobEvent e)
        {
            if (newest.TryGetValue(e.JobId, out var last) && e.Sequence <= last) return false;
            newest[e.JobId] = e.Sequence;
            if (JobEvents.IsTerminal(e)) finished.Add(e.JobId);
            return true;
        }

        /// <summary>Called at each renewal, once the older stream has been read to its end.</summary>
        public void Forget()
        {
            foreach (var id in finishedBefore) newest.Remove(id);
            finishedBefore = finished;
            finished = [];
        }
    }

    private sealed class Subscription(JobFeed feed, Action<JobEvent> onEvent) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0) feed.Unsubscribe(onEvent);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Following every job of GPU service {Address}")]
    private static partial void LogConnected(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Renewed the job feed of GPU service {Address}")]
    private static partial void LogRenewed(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Lost the job feed of GPU service {Address}: {Reason}; reconnecting in {DelaySeconds} s")]
    private static partial void LogLost(ILogger logger, string address, string reason, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A job feed subscriber failed")]
    private static partial void LogSubscriberFailed(ILogger logger, Exception exception);
}
