using TLoRA.Gateway.Api;

namespace TLoRA.WebUI.State;

/// <summary>An adapter to sample with or inspect: the training job that made it and the model it was trained on.</summary>
public sealed record AdapterChoice(string AdapterId, string JobId, string ModelId, string? Method, string Label);

/// <summary>Adapters from the jobs list, and which of them load on a model: those trained on a model of its family
/// (the same pipeline class) — an SD-XL adapter is never offered for FLUX.</summary>
public static class Adapters
{
    public static IReadOnlyList<AdapterChoice> From(IEnumerable<JobDto> jobs) => jobs
        .Where(j => j.Kind == "train" && j.AdapterId is not null && j.State is JobStates.Completed or JobStates.Cancelled or JobStates.Interrupted)
        .Select(j => new AdapterChoice(j.AdapterId!, j.JobId, j.ModelId, j.Method,
            $"{j.Trigger} {j.ClassWord} · {Display.Method(j.Method)} · {j.ModelId}{(j.State == JobStates.Completed ? "" : $" ({j.State} at step {j.Step})")}"))
        .ToArray();

    public static IReadOnlyList<AdapterChoice> CompatibleWith(IReadOnlyList<AdapterChoice> adapters, IReadOnlyList<ModelDto> models, string modelId)
    {
        var family = models.FirstOrDefault(m => m.ModelId == modelId)?.PipelineClass;
        if (family is null) return [];
        var sameFamily = models.Where(m => m.PipelineClass == family).Select(m => m.ModelId).ToHashSet();
        return adapters.Where(a => sameFamily.Contains(a.ModelId)).ToArray();
    }
}
