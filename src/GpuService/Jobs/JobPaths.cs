namespace TLoRA.GpuService.Jobs;

/// <summary>Where a job's files live under the data directory.</summary>
public sealed class JobPaths(string dataDirectory)
{
    public string Root { get; } = Path.GetFullPath(dataDirectory);
    public string Database => Path.Combine(Root, "jobs.db");
    public string JobDirectory(string jobId) => Path.Combine(Root, "jobs", jobId);
    /// <summary>The trainer's output: checkpoints/step-NNNNNN/ and the final adapter.</summary>
    public string RunDirectory(string jobId) => Path.Combine(JobDirectory(jobId), "run");
    public string ImagesDirectory(string jobId) => Path.Combine(JobDirectory(jobId), "images");

    /// <summary>Where a training job's checkpoints are saved.</summary>
    public string CheckpointsDirectory(string jobId) => Path.Combine(RunDirectory(jobId), "checkpoints");

    /// <summary>The newest checkpoint folder of a training job, or null.</summary>
    public string? LatestCheckpoint(string jobId)
    {
        var dir = Path.Combine(RunDirectory(jobId), "checkpoints");
        if (!Directory.Exists(dir)) return null;
        return Directory.EnumerateDirectories(dir, "step-*")
            .Where(Engine.Training.AdapterTrainer.IsCheckpointFolder)
            .Where(d => File.Exists(Path.Combine(d, Engine.Training.AdapterTrainer.StateFileName)))
            .OrderBy(d => d, StringComparer.Ordinal).LastOrDefault();
    }
}
