using TLoRA.Contracts.V1;

namespace TLoRA.Gateway.Api;

/// <summary>tlora.v1 jobs, models and inspections to the REST shapes (Api/Shapes).</summary>
public static class JobMapping
{
    public static JobDto ToDto(Job j) => new(j.JobId, j.Kind == JobKind.Sample ? "sample" : "train", State(j.State), j.QueuePosition,
        j.Created?.ToDateTimeOffset(), j.Started?.ToDateTimeOffset(), j.Finished?.ToDateTimeOffset(), j.LastSequence, j.Step, j.TotalSteps, j.ModelId,
        Empty(j.AdapterId), Empty(j.Error), Empty(j.Trigger), Empty(j.ClassWord), JobEvents.Method(j.Method), j.ServiceId,
        j.Settings is { } s ? ToDto(s) : null);

    public static TrainSettingsDto ToDto(TrainSettings s) => new(JobEvents.Method(s.Method), s.Rank, s.MinRank, s.Alpha, Init(s.Init), s.Steps,
        s.CheckpointInterval, s.Seed, s.LearningRate, s.Resolution, [.. s.ValidationPrompts], s.ImagesPerPrompt, s.PreviewSteps, s.PreviewGuidance,
        s.Trigger, s.ClassWord);

    public static TrainDefaultsDto ToDto(TrainDefaults d) => new(ToDto(d.Defaults ?? new TrainSettings()), d.MaxSteps, d.MaxImagesPerPrompt, d.MaxPreviewSteps,
        d.MaxValidationPrompts, d.MaxPreviewGuidance, d.MaxImageBytes, d.MinImageSide, d.MaxResolution);

    public static string Init(InitComponents i) => i switch
    {
        InitComponents.Middle => "middle",
        InitComponents.Principal => "principal",
        _ => "last",
    };

    public static ModelDto ToDto(ModelInfo m) => new(m.ModelId, m.PipelineClass, m.NativeResolution, m.Trainable, [.. m.ValidationPrompts], m.MaxRank);

    public static InspectDto ToDto(InspectReply r)
    {
        var a = r.Adapter ?? new AdapterInfo();
        var s = r.Summary ?? new InspectSummary();
        return new InspectDto(
            new AdapterInfoDto(a.AdapterId, JobEvents.Method(a.Method), a.Rank, a.MinRank, a.Alpha, a.BaseModel, a.Trigger, a.ClassWord, a.Steps, a.Seed, a.SizeBytes),
            new InspectSummaryDto(s.Layers, s.MeanEffectiveRank, s.MeanQOrthogonalityError, s.MeanPOrthogonalityError,
                s.MeanEffectiveRankByBlock.ToDictionary(p => p.Key, p => p.Value)),
            r.Layers.Select(l => new LayerInspectionDto(l.Layer, l.Block, l.Rank, [.. l.DeltaSingularValues], [.. l.UpSingularValues], l.EffectiveRank,
                l.QOrthogonalityError, l.POrthogonalityError)).ToArray());
    }

    public static string State(JobState s) => s switch
    {
        JobState.Queued => JobStates.Queued,
        JobState.Running => JobStates.Running,
        JobState.Completed => JobStates.Completed,
        JobState.Failed => JobStates.Failed,
        JobState.Cancelled => JobStates.Cancelled,
        JobState.Interrupted => JobStates.Interrupted,
        _ => JobStates.Unknown,
    };

    private static string? Empty(string s) => s.Length == 0 ? null : s;
}
