using System.Text.Json.Serialization;
using TLoRA.Engine.IO;

namespace TLoRA.Engine.Schedulers;

/// <summary>
/// A diffusers scheduler_config.json, bound by its JSON property names. Defaults are those of diffusers'
/// <c>EulerDiscreteScheduler.__init__</c> (the DDPM scheduler shares every field that matters for training: the beta
/// schedule). <c>FlowMatchEulerDiscreteScheduler</c>'s shift settings (FLUX) are bound in SchedulerConfig.FlowMatch.cs.
/// Fields this record does not name (clip_sample, ...) are ignored.
/// </summary>
public sealed partial record SchedulerConfig
{
    /// <summary><c>_class_name</c>: the diffusers class the file was written for (informational).</summary>
    [JsonPropertyName("_class_name")] public string? ClassName { get; init; }

    /// <summary>Number of training timesteps T (timesteps are 0..T−1).</summary>
    [JsonPropertyName("num_train_timesteps")] public int NumTrainTimesteps { get; init; } = 1000;

    /// <summary>First β of the schedule.</summary>
    [JsonPropertyName("beta_start")] public double BetaStart { get; init; } = 0.0001;

    /// <summary>Last β of the schedule.</summary>
    [JsonPropertyName("beta_end")] public double BetaEnd { get; init; } = 0.02;

    /// <summary>"linear", "scaled_linear" (SD, SD-XL) or "squaredcos_cap_v2".</summary>
    [JsonPropertyName("beta_schedule")] public string BetaSchedule { get; init; } = "linear";

    /// <summary>Explicit βs; when present they replace <see cref="BetaSchedule"/>.</summary>
    [JsonPropertyName("trained_betas")] public double[]? TrainedBetas { get; init; }

    /// <summary>What the model predicts: "epsilon", "v_prediction" or "sample".</summary>
    [JsonPropertyName("prediction_type")] public string PredictionType { get; init; } = "epsilon";

    /// <summary>How inference timesteps are spaced: "linspace", "leading" or "trailing".</summary>
    [JsonPropertyName("timestep_spacing")] public string TimestepSpacing { get; init; } = "linspace";

    /// <summary>Offset added to "leading" timesteps (1 for SD / SD-XL).</summary>
    [JsonPropertyName("steps_offset")] public int StepsOffset { get; init; }

    /// <summary>How sigmas between training timesteps are found: "linear" or "log_linear".</summary>
    [JsonPropertyName("interpolation_type")] public string InterpolationType { get; init; } = "linear";

    /// <summary>Karras sigmas (not supported: <see cref="EulerDiscreteScheduler"/> rejects true).</summary>
    [JsonPropertyName("use_karras_sigmas")] public bool UseKarrasSigmas { get; init; }

    /// <summary>Exponential sigmas (not supported: rejected when true).</summary>
    [JsonPropertyName("use_exponential_sigmas")] public bool UseExponentialSigmas { get; init; }

    /// <summary>Beta sigmas (not supported: rejected when true).</summary>
    [JsonPropertyName("use_beta_sigmas")] public bool UseBetaSigmas { get; init; }

    /// <summary>Last sigma of an inference schedule: "zero" or "sigma_min".</summary>
    [JsonPropertyName("final_sigmas_type")] public string FinalSigmasType { get; init; } = "zero";

    /// <summary>"discrete" (the only supported kind) or "continuous".</summary>
    [JsonPropertyName("timestep_type")] public string TimestepType { get; init; } = "discrete";

    /// <summary>Zero-terminal-SNR rescaling (not supported: rejected when true).</summary>
    [JsonPropertyName("rescale_betas_zero_snr")] public bool RescaleBetasZeroSnr { get; init; }

    /// <summary>Reads <paramref name="path"/>: a scheduler_config.json file, or a folder holding one.</summary>
    public static SchedulerConfig Load(string path) =>
        Directory.Exists(path) ? ConfigJson.LoadComponent<SchedulerConfig>(path, "scheduler_config.json") : ConfigJson.Load<SchedulerConfig>(path);
}
