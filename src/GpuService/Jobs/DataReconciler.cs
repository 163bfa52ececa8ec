using TLoRA.Engine.Training;

namespace TLoRA.GpuService.Jobs;

/// <summary>
/// At start, before any job runs, makes the data folder agree with the store after a crash: a checkpoint folder
/// being written (".tmp") is removed; one being replaced (".old") is restored or removed; a finished checkpoint
/// that the store never recorded (the service died between the rename and the event) is removed, so that a resume
/// starts from the newest recorded checkpoint and every checkpoint on disk has its event. Recorded files that are
/// gone are reported. Returns what it did, one line each, for the log.
/// </summary>
public static class DataReconciler
{
    public static IReadOnlyList<string> Reconcile(JobStore store, JobPaths paths)
    {
        var fixes = new List<string>();
        var jobsDirectory = Path.Combine(paths.Root, "jobs");
        if (!Directory.Exists(jobsDirectory)) return fixes;
        foreach (var jobDirectory in Directory.EnumerateDirectories(jobsDirectory))
        {
            var jobId = Path.GetFileName(jobDirectory);
            if (store.Get(jobId) is null) continue; // not ours to judge (DeleteJob removes the record last)
            var artifacts = store.Artifacts(jobId);
            var recorded = artifacts.Select(a => Path.GetFullPath(a.Path)).ToHashSet(StringComparer.Ordinal);
            var checkpoints = paths.CheckpointsDirectory(jobId);
            if (Directory.Exists(checkpoints))
            {
                foreach (var old in Directory.EnumerateDirectories(checkpoints, "*" + AdapterTrainer.OldSuffix).ToList())
                {
                    var target = old[..^AdapterTrainer.OldSuffix.Length];
                    if (Directory.Exists(target))
                    {
                        Directory.Delete(old, recursive: true);
                        fixes.Add($"{jobId}: removed {Path.GetFileName(old)}, already replaced by its new save");
                    }
                    else
                    {
                        Directory.Move(old, target);
                        fixes.Add($"{jobId}: restored {Path.GetFileName(target)} (the service stopped while saving it again)");
                    }
                }
                foreach (var folder in Directory.EnumerateDirectories(checkpoints).ToList())
                {
                    var name = Path.GetFileName(folder);
                    if (!AdapterTrainer.IsCheckpointFolder(folder))
                    {
                        Directory.Delete(folder, recursive: true);
                        fixes.Add($"{jobId}: removed {name}, a checkpoint the service stopped writing");
                    }
                    else if (!recorded.Contains(Path.GetFullPath(Path.Combine(folder, AdapterTrainer.AdapterFileName))))
                    {
                        Directory.Delete(folder, recursive: true);
                        fixes.Add($"{jobId}: removed {name}, a whole checkpoint the service stopped before recording");
                    }
                }
            }
            foreach (var a in artifacts.Where(a => !File.Exists(a.Path)))
                fixes.Add($"{jobId}: {a.Kind} {a.Id} is recorded but its file is gone");
        }
        return fixes;
    }
}
