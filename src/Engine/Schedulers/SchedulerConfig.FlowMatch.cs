using System.Text.Json.Serialization;

namespace TLoRA.Engine.Schedulers;

/// <summary>
/// The fields of diffusers' <c>FlowMatchEulerDiscreteScheduler.__init__</c> (FLUX.1, SD3), with its defaults. The
/// flow-matching scheduler shares <see cref="NumTrainTimesteps"/> and the Karras / exponential / beta switches with
/// the rest of the record.
/// </summary>
public sealed partial record SchedulerConfig
{
    /// <summary>Static shift s of σ' = s·σ / (1 + (s − 1)·σ), used when <see cref="UseDynamicShifting"/> is false.</summary>
    [JsonPropertyName("shift")] public double Shift { get; init; } = 1.0;

    /// <summary>Shift at inference time by exp(μ) / (exp(μ) + (1/σ − 1)), with μ from the image's sequence length
    /// (FLUX.1-dev: true); the training schedule is then left unshifted.</summary>
    [JsonPropertyName("use_dynamic_shifting")] public bool UseDynamicShifting { get; init; }

    /// <summary>μ at <see cref="BaseImageSeqLen"/> packed image tokens.</summary>
    [JsonPropertyName("base_shift")] public double BaseShift { get; init; } = 0.5;

    /// <summary>μ at <see cref="MaxImageSeqLen"/> packed image tokens.</summary>
    [JsonPropertyName("max_shift")] public double MaxShift { get; init; } = 1.15;

    /// <summary>The sequence length μ = <see cref="BaseShift"/> belongs to.</summary>
    [JsonPropertyName("base_image_seq_len")] public int BaseImageSeqLen { get; init; } = 256;

    /// <summary>The sequence length μ = <see cref="MaxShift"/> belongs to.</summary>
    [JsonPropertyName("max_image_seq_len")] public int MaxImageSeqLen { get; init; } = 4096;

    /// <summary>σ → 1 − σ (not supported: <see cref="FlowMatchEulerDiscreteScheduler"/> rejects true).</summary>
    [JsonPropertyName("invert_sigmas")] public bool InvertSigmas { get; init; }

    /// <summary>Stretch the schedule to end at this σ (not supported: rejected when set).</summary>
    [JsonPropertyName("shift_terminal")] public double? ShiftTerminal { get; init; }
}
