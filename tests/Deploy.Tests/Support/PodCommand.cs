using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace TLoRA.Deploy.Tests.Support;

/// <summary>
/// A rendered container's command, args and env, made runnable on this machine: every string is rewritten through
/// <see cref="Map"/> (cluster DNS names and ports to loopback and free ports, container paths to local folders),
/// env values from the pod's fields or from rendered Secrets are resolved, and $(VAR) references in args are expanded
/// as the kubelet does.
/// </summary>
internal sealed partial class PodCommand
{
    public required string File { get; init; }
    public required List<string> Args { get; init; }
    public required Dictionary<string, string> Env { get; init; }

    /// <summary>Text replacements applied to command, args and env values in one pass (longest match first, a
    /// replaced part is never rewritten again).</summary>
    public sealed class Map : Dictionary<string, string>
    {
        public string Apply(string value)
        {
            if (Count == 0) return value;
            var pattern = string.Join('|', Keys.OrderByDescending(k => k.Length).Select(Regex.Escape));
            return Regex.Replace(value, pattern, m => this[m.Value]);
        }
    }

    public static PodCommand From(JsonObject container, Manifests manifests, string podName, Map map)
    {
        var env = new Dictionary<string, string>();
        foreach (var (name, entry) in Manifests.Env(container))
        {
            if (entry["value"] is { } v) env[name] = map.Apply((string)v!);
            else if (entry["valueFrom"]?["fieldRef"]?["fieldPath"] is { } field)
                env[name] = (string)field! == "metadata.name" ? podName : throw new NotSupportedException($"env {name}: field {field}");
            else if (entry["valueFrom"]?["secretKeyRef"] is { } secret)
            {
                var s = Assert.Single(manifests.OfKind("Secret"), o => Manifests.Name(o) == (string?)secret["name"]);
                env[name] = map.Apply((string)s["stringData"]![(string)secret["key"]!]!);
            }
            else throw new NotSupportedException($"env {name}: {entry.ToJsonString()}");
        }
        var command = Manifests.Strings(container["command"]);
        Assert.Single(command);
        var args = Manifests.Strings(container["args"]).Select(a => VarRef().Replace(a, m => env.GetValueOrDefault(m.Groups[1].Value, m.Value)))
            .Select(map.Apply).ToList();
        return new PodCommand { File = map.Apply(command[0]), Args = args, Env = env };
    }

    [GeneratedRegex(@"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")]
    private static partial Regex VarRef();
}
