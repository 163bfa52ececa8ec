using System.Text.RegularExpressions;

namespace TLoRA.GpuService.Jobs;

/// <summary>Makes a message safe to send to clients: no server paths (a path keeps only its last part).</summary>
internal static partial class SafeText
{
    public static string WithoutPaths(string message, IEnumerable<string> serverFolders)
    {
        foreach (var folder in serverFolders.Where(f => f.Length > 1).Select(f => Path.GetFullPath(f).TrimEnd('/')).OrderByDescending(f => f.Length))
            message = message.Replace(folder, "", StringComparison.Ordinal);
        return AbsolutePath().Replace(message, m => Path.GetFileName(m.Value.TrimEnd('/')) is { Length: > 0 } name ? name : "(a file)");
    }

    /// <summary>An id as messages quote it: whole up to <see cref="MaxQuotedId"/> characters, else its start and its
    /// length (a 100k-character id must not travel back in a status).</summary>
    public static string Id(string id) =>
        id.Length <= MaxQuotedId ? id : $"{id[..32]}… ({id.Length} characters)";

    public const int MaxQuotedId = 96;

    /// <summary>Longest message sent to a client about a failure (the rest, e.g. a list of 10,000 key names, goes to
    /// the log under the correlation id).</summary>
    public const int MaxMessage = 400;

    /// <summary>The message cut to <see cref="MaxMessage"/> characters.</summary>
    public static string Brief(string message) => message.Length <= MaxMessage ? message : message[..(MaxMessage - 1)] + "…";

    // "/a/b", "/a/b/c.safetensors": a slash that starts a token, then at least one more segment.
    [GeneratedRegex(@"(?<![\w.~-])/[^\s'""`/:;,()\[\]{}]+(?:/[^\s'""`/:;,()\[\]{}]*)+")]
    private static partial Regex AbsolutePath();
}
