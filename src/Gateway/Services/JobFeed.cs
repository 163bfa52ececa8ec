using TLoRA.Rpc.V1;

namespace TLoRA.Gateway.Services;

/// <summary>
/// Keeps one WatchJobs stream open per GPU service in the pool and hands every event, of every job, to in-process
/// subscribers as it happens. A stream that ends or fails is reopened after a short backoff (1 s, doubling to 10 s;
/// back to 1 s once connected); <see cref="Connected"/> fires after each (re)connection, since events published
/// while a stream was down are not replayed.
/// </summary>
public sealed partial class JobFeed(GpuServicePool pool, GpuClient client, ILogger<JobFeed> logger) : BackgroundService
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(10);
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

    /// <summary>One service's stream, reopened until the gateway stops.</summary>
    private async Task FollowAsync(ServiceEndpoint endpoint, CancellationToken ct)
    {
        var address = endpoint.Address.ToString();
        var delay = FirstRetry;
        while (!ct.IsCancellationRequested)
        {
            var connected = false;
            try
            {
                var stream = await client.OpenJobsFeedAsync(endpoint, ct).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    connected = true;
                    delay = FirstRetry;
                    LogConnected(logger, address);
                    RaiseConnected(address);
                    while (await stream.Enumerator.MoveNextAsync().ConfigureAwait(false)) Dispatch(stream.Enumerator.Current);
                }
                LogLost(logger, address, "the stream ended", delay.TotalSeconds);
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                if (connected) LogLost(logger, address, e.Message, delay.TotalSeconds);
                else LogConnectFailed(logger, address, e.Message, delay.TotalSeconds);
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

    private void Dispatch(JobEvent e)
    {
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Lost the job feed of GPU service {Address}: {Reason}; reconnecting in {DelaySeconds} s")]
    private static partial void LogLost(ILogger logger, string address, string reason, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not open the job feed of GPU service {Address}: {Reason}; retrying in {DelaySeconds} s")]
    private static partial void LogConnectFailed(ILogger logger, string address, string reason, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A job feed subscriber failed")]
    private static partial void LogSubscriberFailed(ILogger logger, Exception exception);
}
