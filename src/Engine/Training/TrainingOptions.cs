using TLoRA.Engine.Adapters;

namespace TLoRA.Engine.Training;

/// <summary>
/// One training job's settings, with the paper's defaults for SD-XL (800 steps, AdamW lr 1e-4, betas 0.9/0.999,
/// weight decay 1e-4, rank 64, r_min = rank/2, α = 1). <see cref="Validate"/> names the field that is wrong.
/// </summary>
public sealed record TrainingOptions
{
    public AdapterMethod Method { get; init; } = AdapterMethod.TLoRA;
    public int Rank { get; init; } = 64;
    /// <summary>Null: half the rank.</summary>
    public int? MinRank { get; init; }
    public double Alpha { get; init; } = 1.0;
    public InitComponents Init { get; init; } = InitComponents.Last;
    public int Steps { get; init; } = 800;
    public double LearningRate { get; init; } = 1e-4;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double WeightDecay { get; init; } = 1e-4;
    public double Epsilon { get; init; } = 1e-8;
    /// <summary>Gradient-norm clip (the official trainer clips at 1); null disables it.</summary>
    public double? MaxGradNorm { get; init; } = 1.0;
    public ulong Seed { get; init; }
    public int Resolution { get; init; } = 1024;
    /// <summary>Save an adapter (and previews) every this many steps; 0 only at the end.</summary>
    public int CheckpointInterval { get; init; } = 100;
    public string Trigger { get; init; } = "sks";
    public string ClassWord { get; init; } = "dog";
    /// <summary>Prompts for the previews at checkpoints, "{0}" standing for "trigger class".</summary>
    public IReadOnlyList<string> ValidationPrompts { get; init; } = PromptTemplates.DefaultValidation.Take(2).ToList();
    public int ImagesPerPrompt { get; init; } = 1;
    public int PreviewSteps { get; init; } = 25;
    public double PreviewGuidance { get; init; } = 5.0;
    /// <summary>Recompute the denoiser's blocks in backward instead of keeping their activations: less memory (the
    /// GPU recipe for SD-XL at 1024² on 24 GB), about one more forward pass of time per step.</summary>
    public bool GradientCheckpointing { get; init; }

    public int EffectiveMinRank => MinRank ?? Math.Max(1, Rank / 2);

    /// <summary>The training prompt, as the paper: "a photo of {trigger} {class}".</summary>
    public string TrainingPrompt => PromptTemplates.Training(Trigger, ClassWord);

    public AdapterSpec ToSpec(RankScheduleKind schedule, IReadOnlyList<string> projections) =>
        new(Method, Rank, EffectiveMinRank, Alpha, Init, schedule, projections);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad field.</summary>
    public TrainingOptions Validate()
    {
        Check(Rank > 0, nameof(Rank), $"must be positive, got {Rank}");
        Check(EffectiveMinRank >= 1 && EffectiveMinRank <= Rank, nameof(MinRank), $"must be in 1..rank ({Rank}), got {EffectiveMinRank}");
        Check(Alpha > 0, nameof(Alpha), $"must be positive, got {Alpha}");
        Check(Steps is >= 1 and <= 100_000, nameof(Steps), $"must be in 1..100000, got {Steps}");
        Check(LearningRate > 0 && LearningRate < 1, nameof(LearningRate), $"must be in (0, 1), got {LearningRate}");
        Check(Beta1 is >= 0 and < 1 && Beta2 is >= 0 and < 1, "Betas", $"must be in [0, 1), got {Beta1}/{Beta2}");
        Check(WeightDecay >= 0, nameof(WeightDecay), $"must be ≥ 0, got {WeightDecay}");
        Check(MaxGradNorm is null or > 0, nameof(MaxGradNorm), $"must be positive, got {MaxGradNorm}");
        Check(Resolution is >= 8 and <= 4096 && Resolution % 8 == 0, nameof(Resolution), $"must be a multiple of 8 in 8..4096, got {Resolution}");
        Check(CheckpointInterval >= 0, nameof(CheckpointInterval), $"must be ≥ 0, got {CheckpointInterval}");
        Check(!string.IsNullOrWhiteSpace(Trigger), nameof(Trigger), "must not be empty");
        Check(!string.IsNullOrWhiteSpace(ClassWord), nameof(ClassWord), "must not be empty");
        Check(ImagesPerPrompt is >= 1 and <= 16, nameof(ImagesPerPrompt), $"must be in 1..16, got {ImagesPerPrompt}");
        Check(PreviewSteps is >= 1 and <= 200, nameof(PreviewSteps), $"must be in 1..200, got {PreviewSteps}");
        return this;
    }

    private static void Check(bool ok, string field, string message)
    {
        if (!ok) throw new ArgumentException($"{field} {message}", field);
    }
}
