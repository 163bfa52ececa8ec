using System.Text.Json.Nodes;

namespace TLoRA.Deploy.Tests.Support;

/// <summary>The objects one helm template rendered, with look-ups by kind and component label.</summary>
internal sealed class Manifests(JsonArray objects)
{
    public IReadOnlyList<JsonObject> All { get; } = objects.Select(o => o!.AsObject()).ToArray();

    public IEnumerable<JsonObject> OfKind(string kind) => All.Where(o => (string?)o["kind"] == kind);

    public static string? Component(JsonObject o) => (string?)o["metadata"]?["labels"]?["app.kubernetes.io/component"];

    /// <summary>The one object of <paramref name="kind"/> for <paramref name="component"/>; fails when not exactly one.</summary>
    public JsonObject One(string kind, string component) => Assert.Single(OfKind(kind), o => Component(o) == component);

    public JsonObject? Find(string kind, string component) => OfKind(kind).SingleOrDefault(o => Component(o) == component);

    public static string Name(JsonObject o) => (string)o["metadata"]!["name"]!;

    /// <summary>The pod template's spec of a Deployment or StatefulSet.</summary>
    public static JsonObject PodSpec(JsonObject workload) => workload["spec"]!["template"]!["spec"]!.AsObject();

    public static JsonObject Container(JsonObject workload) => Assert.Single(PodSpec(workload)["containers"]!.AsArray())!.AsObject();

    /// <summary>Every container of every workload (Deployment, StatefulSet).</summary>
    public IEnumerable<(JsonObject Workload, JsonObject Container)> Containers() =>
        All.Where(o => (string?)o["kind"] is "Deployment" or "StatefulSet")
            .SelectMany(w => PodSpec(w)["containers"]!.AsArray().Select(c => (w, c!.AsObject())));

    /// <summary>A container's env as name → the entry (value or valueFrom).</summary>
    public static Dictionary<string, JsonObject> Env(JsonObject container) =>
        (container["env"]?.AsArray() ?? []).Select(e => e!.AsObject()).ToDictionary(e => (string)e["name"]!);

    public static string[] Strings(JsonNode? array) => array?.AsArray().Select(x => (string)x!).ToArray() ?? [];
}
