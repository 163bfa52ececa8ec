using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace TLoRA.Rpc.Tests.Support;

/// <summary>An in-memory logger provider: the tests assert on what the server logged.</summary>
public sealed class LogCollector : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, string Message, Exception? Exception)> _entries = new();

    public IReadOnlyList<(LogLevel Level, string Message, Exception? Exception)> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    /// <summary>Waits until a log message satisfies <paramref name="predicate"/>.</summary>
    public async Task<string> WaitForAsync(Func<string, bool> predicate, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var hit = _entries.FirstOrDefault(e => predicate(e.Message));
            if (hit.Message is not null) return hit.Message;
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException("No such log message. Logged:\n" + string.Join("\n", _entries.Select(e => e.Message)));
            }
            await Task.Delay(20);
        }
    }

    public void Dispose()
    {
    }

    private sealed class Logger(LogCollector owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter) => owner._entries.Enqueue((logLevel, formatter(state, exception), exception));
    }
}
