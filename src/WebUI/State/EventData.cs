using System.Text.Json;
using TLoRA.Gateway.Api;
using TLoRA.WebUI.Gateway;

namespace TLoRA.WebUI.State;

/// <summary>An event's data as its record: the gateway sends it as JSON (bound here by the event's type); events made
/// in-process (tests) already carry the record.</summary>
public static class EventData
{
    public static T As<T>(this JobEventDto e) where T : class => e.Data switch
    {
        T typed => typed,
        JsonElement json => json.Deserialize<T>(GatewayClient.Json) ?? throw new JsonException($"{e.Type} event {e.Sequence} has no data"),
        _ => throw new JsonException($"{e.Type} event {e.Sequence} does not carry {typeof(T).Name}"),
    };
}
