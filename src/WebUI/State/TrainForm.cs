using System.Globalization;
using TLoRA.Gateway.Api;

namespace TLoRA.WebUI.State;

/// <summary>
/// The new-training form: what the user chose, checked before anything is sent (the image's size and type too, so a
/// too-large file is refused here instead of by the gateway), and the fields of POST /api/jobs. Error keys are the
/// REST field names, so the service's own refusals (problem+json <c>errors</c>) land on the same fields.
/// Empty optional fields are not sent: the service applies its defaults (the paper's settings).
/// </summary>
public sealed class TrainForm
{
    public string ModelId { get; set; } = "";
    public byte[]? Image { get; private set; }
    public string? ImageName { get; private set; }
    public string? ImageError { get; private set; }
    public string Trigger { get; set; } = "sks";
    public string ClassWord { get; set; } = "";
    public string Method { get; set; } = Methods.TLoRA;
    public int? Rank { get; set; }
    /// <summary>Null: half the rank (the service's default).</summary>
    public int? MinRank { get; set; }
    public double? Alpha { get; set; }
    public int? Steps { get; set; }
    /// <summary>0: a checkpoint only at the end.</summary>
    public int? CheckpointInterval { get; set; }
    public ulong? Seed { get; set; }
    /// <summary>One prompt per line; "{0}" stands for "trigger class".</summary>
    public string ValidationPrompts { get; set; } = "";
    // Advanced: empty takes the service's default.
    public double? LearningRate { get; set; }
    public int? Resolution { get; set; }
    public string Init { get; set; } = "";
    public int? ImagesPerPrompt { get; set; }
    public int? PreviewSteps { get; set; }
    public double? PreviewGuidance { get; set; }

    /// <summary>The chosen model's rank limit (0: unknown).</summary>
    public int MaxRank { get; set; }
    public long MaxImageBytes { get; set; } = 20 * 1024 * 1024;
    /// <summary>The service's defaults and limits (GET /api/train/defaults); null until read, then its limits are checked here too.</summary>
    public TrainDefaultsDto? Limits { get; private set; }

    /// <summary>Adopts the service's defaults (rank, α, steps, checkpoint interval start from them; the advanced fields stay
    /// empty and show them as placeholders) and its limits (the image's size limit only lowers the form's own).</summary>
    public void UseDefaults(TrainDefaultsDto defaults)
    {
        Limits = defaults;
        var d = defaults.Defaults;
        Rank ??= MaxRank > 0 ? Math.Min(d.Rank, MaxRank) : d.Rank;
        Alpha ??= d.Alpha;
        Steps ??= d.Steps;
        CheckpointInterval ??= d.CheckpointInterval;
        if (defaults.MaxImageBytes > 0) MaxImageBytes = Math.Min(MaxImageBytes, defaults.MaxImageBytes);
    }

    /// <summary>What an empty advanced field takes, as its placeholder.</summary>
    public string DefaultText(Func<TrainSettingsDto, object> field) =>
        Limits is { } l ? $"default: {Convert.ToString(field(l.Defaults), CultureInfo.InvariantCulture)}" : "service default";

    /// <summary>r_min and α only shape T-LoRA's schedule: plain LoRA has none.</summary>
    public bool UsesSchedule => Method != Methods.LoRA;

    public static IReadOnlyList<(string Value, string Text)> MethodChoices { get; } =
        [(Methods.TLoRA, "T-LoRA"), (Methods.VanillaTLoRA, "Vanilla T-LoRA"), (Methods.LoRA, "LoRA")];

    public static IReadOnlyList<(string Value, string Text)> InitChoices { get; } =
        [("", "service default"), ("last", "last (the paper's)"), ("middle", "middle"), ("principal", "principal")];

    /// <summary>Adopts a model: its rank limit, and the first two of its validation prompts when none are set.</summary>
    public void UseModel(ModelDto model)
    {
        ModelId = model.ModelId;
        MaxRank = model.MaxRank;
        if (MaxRank > 0 && Rank > MaxRank) Rank = MaxRank;
        if (string.IsNullOrWhiteSpace(ValidationPrompts)) ValidationPrompts = string.Join('\n', model.ValidationPrompts.Take(2));
    }

    /// <summary>Takes a job's settings ("train again"): all of them, as the service applied its defaults (a sampling
    /// job's record has none: only its model is kept). The image is taken with <see cref="SetImage"/>.</summary>
    public void CopyFrom(JobDto job)
    {
        Trigger = job.Trigger ?? Trigger;
        ClassWord = job.ClassWord ?? ClassWord;
        if (job.Settings is not { } s) return;
        Method = s.Method ?? Method;
        Rank = s.Rank;
        MinRank = s.MinRank;
        Alpha = s.Alpha;
        Steps = s.Steps;
        CheckpointInterval = s.CheckpointInterval;
        Seed = s.Seed;
        ValidationPrompts = string.Join('\n', s.ValidationPrompts);
        LearningRate = s.LearningRate;
        Resolution = s.Resolution;
        Init = s.Init;
        ImagesPerPrompt = s.ImagesPerPrompt;
        PreviewSteps = s.PreviewSteps;
        PreviewGuidance = s.PreviewGuidance;
    }

    public IReadOnlyList<string> Prompts => ValidationPrompts.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Checks a chosen file before it is read: its size against the limit, then (read) its type.</summary>
    public bool AcceptSize(string name, long size)
    {
        ImageName = name;
        Image = null;
        ImageError = size > MaxImageBytes ? $"'{name}' is {Display.Bytes(size)}; the limit is {Display.Bytes(MaxImageBytes)}" : size == 0 ? $"'{name}' is empty" : null;
        return ImageError is null;
    }

    public void SetImage(string name, byte[] bytes)
    {
        ImageName = name;
        Image = null;
        if (!AcceptSize(name, bytes.LongLength)) return;
        if (ImageTypes.MediaType(bytes) is null) ImageError = $"'{name}' is not a {ImageTypes.Accepted} file";
        else Image = bytes;
    }

    public string? ImageDataUrl => Image is null ? null : $"data:{ImageTypes.MediaType(Image)};base64,{Convert.ToBase64String(Image)}";

    /// <summary>Every problem, keyed by REST field name; empty when the form can be sent.</summary>
    public Dictionary<string, string> Validate()
    {
        var errors = new Dictionary<string, string>();
        void Check(bool ok, string field, string message)
        {
            if (!ok) errors.TryAdd(field, message);
        }
        Check(ModelId.Length > 0, "modelId", "choose a model");
        if (ImageError is not null) errors["image"] = ImageError;
        Check(Image is { Length: > 0 }, "image", $"choose a {ImageTypes.Accepted} image of the concept");
        Check(Trigger.Trim().Length > 0 && !Trigger.Trim().Contains(' ', StringComparison.Ordinal), "trigger", "one word, e.g. sks");
        Check(ClassWord.Trim().Length > 0, "classWord", "the concept's class, e.g. dog");
        Check(Rank is null or >= 1, "rank", "must be at least 1");
        Check(MaxRank <= 0 || Rank is null || Rank <= MaxRank, "rank", $"at most {MaxRank} for this model (its attention dims)");
        if (UsesSchedule)
        {
            Check(MinRank is null || (MinRank >= 1 && MinRank <= (Rank ?? 1)), "minRank", $"must be in 1..rank ({Rank})");
            Check(Alpha is null || (Alpha > 0 && double.IsFinite(Alpha.Value)), "alpha", "must be positive");
        }
        var l = Limits;
        Check(Steps is null || (Steps >= 1 && (l is null || Steps <= l.MaxSteps)), "steps", l is null ? "must be at least 1" : $"must be in 1..{l.MaxSteps}");
        Check(CheckpointInterval is null || (CheckpointInterval >= 0 && CheckpointInterval <= Math.Max(1, Steps ?? 1)), "checkpointInterval",
            $"must be in 0..steps ({Steps}); 0: only at the end");
        Check(l is null || Prompts.Count <= l.MaxValidationPrompts, "validationPrompts", $"at most {l?.MaxValidationPrompts} prompts, got {Prompts.Count}");
        Check(LearningRate is null || (LearningRate > 0 && LearningRate < 1), "learningRate", "must be in (0, 1)");
        Check(Resolution is null || (Resolution >= 8 && Resolution % 8 == 0 && (l is null || Resolution <= l.MaxResolution)), "resolution",
            l is null ? "a multiple of 8" : $"a multiple of 8 up to {l.MaxResolution}");
        Check(ImagesPerPrompt is null || (ImagesPerPrompt >= 1 && (l is null || ImagesPerPrompt <= l.MaxImagesPerPrompt)), "imagesPerPrompt",
            $"must be in 1..{l?.MaxImagesPerPrompt}");
        Check(PreviewSteps is null || (PreviewSteps >= 1 && (l is null || PreviewSteps <= l.MaxPreviewSteps)), "previewSteps", $"must be in 1..{l?.MaxPreviewSteps}");
        Check(PreviewGuidance is null || (PreviewGuidance >= 0 && (l is null || PreviewGuidance <= l.MaxPreviewGuidance)), "previewGuidance",
            l is null ? "must not be negative" : $"must be in 0..{l.MaxPreviewGuidance.ToString(CultureInfo.InvariantCulture)}");
        return errors;
    }

    /// <summary>The form fields of POST /api/jobs (the image goes as the file "image").</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Fields()
    {
        var f = new List<KeyValuePair<string, string>>();
        void Add(string name, object? value)
        {
            if (value is not null && Convert.ToString(value, CultureInfo.InvariantCulture) is { Length: > 0 } text) f.Add(new(name, text));
        }
        Add("modelId", ModelId);
        Add("trigger", Trigger.Trim());
        Add("classWord", ClassWord.Trim());
        Add("method", Method);
        Add("rank", Rank);
        if (UsesSchedule)
        {
            Add("minRank", MinRank);
            Add("alpha", Alpha);
        }
        Add("steps", Steps);
        Add("checkpointInterval", CheckpointInterval);
        Add("seed", Seed);
        foreach (var p in Prompts) Add("validationPrompts", p);
        Add("learningRate", LearningRate);
        Add("resolution", Resolution);
        Add("init", Init);
        Add("imagesPerPrompt", ImagesPerPrompt);
        Add("previewSteps", PreviewSteps);
        Add("previewGuidance", PreviewGuidance);
        return f;
    }



}
