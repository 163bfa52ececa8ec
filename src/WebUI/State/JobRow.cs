using TLoRA.Gateway.Api;

namespace TLoRA.WebUI.State;

/// <summary>A row of the jobs list: the job record with what the list shows of it.</summary>
public sealed record JobRow(JobDto Job)
{
    public string JobId => Job.JobId;
    public string State => Job.State;
    public double Progress => Job.State == JobStates.Completed ? 1 : Job.TotalSteps > 0 ? Math.Clamp((double)Job.Step / Job.TotalSteps, 0, 1) : 0;
    public string What => Job.Kind == "sample" ? "sampling" : $"{Job.Trigger} {Job.ClassWord}".Trim();
    public string Method => Job.Kind == "sample" ? "—" : Display.Method(Job.Method);
    public bool CanCancel => Job.State is JobStates.Queued or JobStates.Running;

    /// <summary>Time left from the record's start time and progress (the list is not fed every step).</summary>
    public double? EtaSeconds(DateTimeOffset now) => Job.State == JobStates.Running && Job.Started is { } started && Job.Step > 0 && Job.TotalSteps > Job.Step
        ? (now - started).TotalSeconds / Job.Step * (Job.TotalSteps - Job.Step) : null;

    /// <summary>Matches the list's search text: id, model, method, trigger or class word.</summary>
    public bool Matches(string? text) => string.IsNullOrWhiteSpace(text)
        || new[] { Job.JobId, Job.ModelId, Method, Job.Trigger, Job.ClassWord, Job.State }.Any(v => v?.Contains(text.Trim(), StringComparison.OrdinalIgnoreCase) == true);
}
