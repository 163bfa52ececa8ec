using Microsoft.AspNetCore.Components.Server.Circuits;

namespace TLoRA.WebUI;

/// <summary>
/// Logs when a browser tab's circuit loses its connection and gets it back (Warning / Information): while it is down,
/// what the person clicks is not sent, so "I clicked and nothing happened" has a line in the log with the circuit's
/// id and time, and an operator sees flaky proxies or overloaded pods.
/// </summary>
internal sealed partial class CircuitLog(ILogger<CircuitLog> logger) : CircuitHandler
{
    public override Task OnConnectionDownAsync(Circuit circuit, CancellationToken cancellationToken)
    {
        LogDown(logger, circuit.Id);
        return Task.CompletedTask;
    }

    public override Task OnConnectionUpAsync(Circuit circuit, CancellationToken cancellationToken)
    {
        LogUp(logger, circuit.Id);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "circuit {CircuitId} lost its connection: clicks and input are not sent until it reconnects")]
    private static partial void LogDown(ILogger logger, string circuitId);

    [LoggerMessage(Level = LogLevel.Information, Message = "circuit {CircuitId} connected")]
    private static partial void LogUp(ILogger logger, string circuitId);
}
