using TLoRA.Engine.Adapters;
using TLoRA.Engine.Pipelines;
using TLoRA.Engine.Training;
using TLoRA.Contracts.V1;
using EngineMethod = TLoRA.Engine.Adapters.AdapterMethod;
using EngineInit = TLoRA.Engine.Adapters.InitComponents;
using ProtoMethod = TLoRA.Contracts.V1.AdapterMethod;

namespace TLoRA.GpuService.Jobs;

/// <summary>Requests to engine settings (zero or unset fields take the engine's defaults, <see cref="TrainingOptions"/>)
/// and engine results back to messages.</summary>
public static class RequestMapping
{
    public static TrainingOptions ToOptions(TrainRequest r, int nativeResolution)
    {
        var d = new TrainingOptions();
        var rank = r.Rank > 0 ? r.Rank : d.Rank;
        return new TrainingOptions
        {
            Method = ToEngine(r.Method),
            Rank = rank,
            MinRank = r.MinRank > 0 ? r.MinRank : null,
            Alpha = r.Alpha > 0 ? r.Alpha : d.Alpha,
            Init = r.Init switch { Contracts.V1.InitComponents.Middle => EngineInit.Middle, Contracts.V1.InitComponents.Principal => EngineInit.Principal, _ => EngineInit.Last },
            Steps = r.Steps > 0 ? r.Steps : d.Steps,
            LearningRate = r.LearningRate > 0 ? r.LearningRate : d.LearningRate,
            Seed = r.Seed,
            Resolution = r.Resolution > 0 ? r.Resolution : nativeResolution,
            CheckpointInterval = r.HasCheckpointInterval ? r.CheckpointInterval : d.CheckpointInterval,
            Trigger = string.IsNullOrWhiteSpace(r.Trigger) ? d.Trigger : r.Trigger.Trim(),
            ClassWord = string.IsNullOrWhiteSpace(r.ClassWord) ? d.ClassWord : r.ClassWord.Trim(),
            ValidationPrompts = r.ValidationPrompts.Count > 0 ? r.ValidationPrompts.ToList() : d.ValidationPrompts,
            ImagesPerPrompt = r.ImagesPerPrompt > 0 ? r.ImagesPerPrompt : d.ImagesPerPrompt,
            PreviewSteps = r.PreviewSteps > 0 ? r.PreviewSteps : d.PreviewSteps,
            PreviewGuidance = r.HasPreviewGuidance ? r.PreviewGuidance : d.PreviewGuidance,
            GradientCheckpointing = r.GradientCheckpointing,
        };
    }

    /// <summary>A training job's settings as it runs with them (<see cref="ToOptions(TrainRequest, int)"/>'s defaults applied).</summary>
    public static TrainSettings ToSettings(TrainingOptions o)
    {
        var s = new TrainSettings
        {
            Method = ToProto(o.Method), Rank = o.Rank, MinRank = o.EffectiveMinRank, Alpha = o.Alpha,
            Init = o.Init switch { EngineInit.Middle => Contracts.V1.InitComponents.Middle, EngineInit.Principal => Contracts.V1.InitComponents.Principal,
                _ => Contracts.V1.InitComponents.Last },
            Steps = o.Steps, CheckpointInterval = o.CheckpointInterval, Seed = o.Seed, LearningRate = o.LearningRate, Resolution = o.Resolution,
            ImagesPerPrompt = o.ImagesPerPrompt, PreviewSteps = o.PreviewSteps, PreviewGuidance = o.PreviewGuidance,
            Trigger = o.Trigger, ClassWord = o.ClassWord,
        };
        s.ValidationPrompts.AddRange(o.ValidationPrompts);
        return s;
    }

    public static SampleOptions ToOptions(SampleRequest r, int nativeResolution)
    {
        var d = new SampleOptions([]);
        return new SampleOptions(
            r.Prompts.ToList(),
            string.IsNullOrEmpty(r.NegativePrompt) ? null : r.NegativePrompt,
            r.HasGuidanceScale ? r.GuidanceScale : d.GuidanceScale,
            r.Steps > 0 ? r.Steps : d.Steps,
            r.Seed,
            r.Width > 0 ? r.Width : nativeResolution,
            r.Height > 0 ? r.Height : nativeResolution,
            r.ImagesPerPrompt > 0 ? r.ImagesPerPrompt : d.ImagesPerPrompt,
            r.HasAdapterScale ? r.AdapterScale : d.AdapterScale);
    }

    public static EngineMethod ToEngine(ProtoMethod m) => m switch
    {
        ProtoMethod.VanillaTlora => EngineMethod.VanillaTLoRA,
        ProtoMethod.Lora => EngineMethod.LoRA,
        _ => EngineMethod.TLoRA,
    };

    public static ProtoMethod ToProto(EngineMethod m) => m switch
    {
        EngineMethod.VanillaTLoRA => ProtoMethod.VanillaTlora,
        EngineMethod.LoRA => ProtoMethod.Lora,
        _ => ProtoMethod.Tlora,
    };

    public static Contracts.V1.InspectSummary ToProto(Engine.Adapters.InspectionSummary s)
    {
        var p = new Contracts.V1.InspectSummary
        {
            Layers = s.Layers, MeanEffectiveRank = s.MeanEffectiveRank, MeanQOrthogonalityError = s.MeanQOrthogonalityError,
            MeanPOrthogonalityError = s.MeanPOrthogonalityError,
        };
        foreach (var (k, v) in s.MeanEffectiveRankByBlock) p.MeanEffectiveRankByBlock[k] = v;
        return p;
    }

    public static Contracts.V1.LayerInspection ToProto(Engine.Adapters.LayerInspection l)
    {
        var p = new Contracts.V1.LayerInspection
        {
            Layer = l.Layer, Block = l.Block, Rank = l.Rank, EffectiveRank = l.EffectiveRank,
            QOrthogonalityError = l.QOrthogonalityError, POrthogonalityError = l.POrthogonalityError,
        };
        p.DeltaSingularValues.AddRange(l.DeltaSingularValues);
        p.UpSingularValues.AddRange(l.UpSingularValues);
        return p;
    }
}
