using System.Text.RegularExpressions;

namespace TLoRA.GpuService.Service;

/// <summary>
/// The service's id: the prefix of every job id it makes, so a gateway (any replica, after any restart) finds the owner
/// of a job, adapter or image by its id alone. Chosen once per data directory and kept there (file
/// <see cref="FileName"/>): set GpuService:ServiceId (a DNS label, e.g. the pod name) or let the service draw one.
/// </summary>
public sealed partial class ServiceIdentity(string id)
{
    public const string FileName = "service-id";

    public string Id { get; } = id;

    /// <summary>A DNS label: lower-case letters, digits and inner hyphens, at most 63 characters.</summary>
    public static bool IsValid(string id) => Label().IsMatch(id);

    /// <summary>The id kept in <paramref name="dataDirectory"/>; on first start <paramref name="configured"/> or a new
    /// one, which is then kept. A configured id that differs from the kept one is refused: the jobs stored there carry
    /// the kept one.</summary>
    public static ServiceIdentity Load(string dataDirectory, string? configured)
    {
        Directory.CreateDirectory(dataDirectory);
        var file = Path.Combine(dataDirectory, FileName);
        if (File.Exists(file))
        {
            var kept = File.ReadAllText(file).Trim();
            if (!IsValid(kept)) throw new InvalidDataException($"the service id kept in the data directory ('{kept}') is not a DNS label");
            if (configured is not null && configured != kept)
                throw new ArgumentException($"invalid configuration: {GpuServiceOptions.Section}:ServiceId '{configured}' differs from " +
                                            $"'{kept}', the id of the jobs already stored in this data directory");
            return new ServiceIdentity(kept);
        }
        var id = configured ?? $"gpu-{Guid.NewGuid():N}"[..10];
        File.WriteAllText(file + ".tmp", id + "\n");
        File.Move(file + ".tmp", file, overwrite: true);
        return new ServiceIdentity(id);
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex Label();
}
