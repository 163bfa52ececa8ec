using Google.Protobuf;
using TLoRA.Contracts.V1;

namespace TLoRA.WebUI.State;

public sealed record MethodChoice(AdapterMethod Value, string Text);

/// <summary>
/// The new-training form: the paper's defaults (rank 64 capped by the model, r_min = rank/2, α = 1, 800 steps,
/// checkpoint every 100; 0: only at the end), inline validation that names each bad field the way the service would, and the request.
/// Field keys are the REST/camelCase names the gateway uses, so the service's own refusals land on the same field.
/// </summary>
public sealed class TrainForm
{
    public const int MinImageSide = 64;

    public string ModelId { get; set; } = "";
    public byte[]? Image { get; set; }
    public string? ImageName { get; set; }
    public string? ImageError { get; set; }
    public string Trigger { get; set; } = "sks";
    public string ClassWord { get; set; } = "";
    public AdapterMethod Method { get; set; } = AdapterMethod.Tlora;
    public int Rank { get; set; } = 64;
    /// <summary>Null: half the rank (shown as the placeholder).</summary>
    public int? MinRank { get; set; }
    public double Alpha { get; set; } = 1.0;
    public int Steps { get; set; } = 800;
    public int CheckpointInterval { get; set; } = 100;
    public int PreviewSteps { get; set; } = 25;
    public ulong Seed { get; set; }
    /// <summary>One prompt per line; "{0}" stands for "trigger class".</summary>
    public string ValidationPrompts { get; set; } = "";

    /// <summary>The largest rank the chosen model's attention projections hold (0: unknown).</summary>
    public int MaxRank { get; set; }

    public long MaxImageBytes { get; set; } = 20 * 1024 * 1024;

    public int EffectiveMinRank => MinRank ?? Math.Max(1, Rank / 2);

    public static IReadOnlyList<MethodChoice> Methods { get; } =
    [
        new(AdapterMethod.Tlora, "T-LoRA"),
        new(AdapterMethod.VanillaTlora, "Vanilla T-LoRA"),
        new(AdapterMethod.Lora, "LoRA"),
    ];

    /// <summary>Adopts a model: its rank limit and the first two of its validation prompts when none are set.</summary>
    public void UseModel(ModelInfo model)
    {
        ModelId = model.ModelId;
        MaxRank = model.MaxRank;
        if (MaxRank > 0 && Rank > MaxRank) Rank = MaxRank;
        if (string.IsNullOrWhiteSpace(ValidationPrompts))
            ValidationPrompts = string.Join('\n', model.ValidationPrompts.Take(2));
    }

    public IReadOnlyList<string> Prompts =>
        ValidationPrompts.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Every problem, keyed by field; empty when the form can be sent.</summary>
    public IReadOnlyDictionary<string, string> Validate()
    {
        var errors = new Dictionary<string, string>();
        void Check(bool ok, string field, string message)
        {
            if (!ok) errors.TryAdd(field, message);
        }
        Check(ModelId.Length > 0, "modelId", "choose a model");
        Check(Image is { Length: > 0 } || ImageError is not null, "image", "choose a PNG or JPEG image of the concept");
        if (ImageError is not null) errors["image"] = ImageError;
        Check(Trigger.Trim().Length > 0 && !Trigger.Trim().Contains(' ', StringComparison.Ordinal), "trigger", "one word, e.g. sks");
        Check(ClassWord.Trim().Length > 0, "classWord", "the concept's class, e.g. dog");
        Check(Rank >= 1, "rank", "must be at least 1");
        Check(MaxRank <= 0 || Rank <= MaxRank, "rank", $"at most {MaxRank} for this model (its attention dims)");
        Check(EffectiveMinRank >= 1 && EffectiveMinRank <= Rank, "minRank", $"must be in 1..rank ({Rank})");
        Check(Alpha > 0 && double.IsFinite(Alpha), "alpha", "must be positive");
        Check(Steps is >= 1 and <= 100_000, "steps", "must be in 1..100000");
        Check(CheckpointInterval >= 0 && CheckpointInterval <= Math.Max(1, Steps), "checkpointInterval", $"must be in 0..steps ({Steps}); 0: only at the end");
        Check(PreviewSteps is >= 1 and <= 200, "previewSteps", "must be in 1..200");
        Check(Prompts.Count <= 32, "validationPrompts", $"at most 32 prompts, got {Prompts.Count}");
        return errors;
    }

    /// <summary>Checks an uploaded file's size and magic bytes; the service decodes it and checks its size again.</summary>
    public void SetImage(string name, byte[]? bytes, long length)
    {
        ImageName = name;
        Image = null;
        ImageError = null;
        if (length > MaxImageBytes) ImageError = $"'{name}' is {Megabytes(length)}; the limit is {Megabytes(MaxImageBytes)}";
        else if (bytes is null || bytes.Length == 0) ImageError = $"'{name}' is empty";
        else if (!IsPng(bytes) && !IsJpeg(bytes)) ImageError = $"'{name}' is not a PNG or JPEG file";
        else Image = bytes;
    }

    /// <summary>The preview shown next to the upload button.</summary>
    public string? ImageDataUrl => Image is null ? null : $"data:{(IsPng(Image) ? "image/png" : "image/jpeg")};base64,{Convert.ToBase64String(Image)}";

    /// <summary>Reads a posted form: the fields by their REST names, the uploaded file if any, else the image kept from
    /// an earlier attempt (hidden field "imageData", base64). Values that do not parse become errors on their field.</summary>
    public static TrainForm Read(Func<string, string?> field, (string Name, byte[] Bytes, long Length)? upload, long maxImageBytes,
        IDictionary<string, string> errors)
    {
        var form = new FormFields(field, errors);
        var f = new TrainForm { MaxImageBytes = maxImageBytes };
        f.ModelId = field("modelId")?.Trim() ?? "";
        f.Trigger = field("trigger") ?? "";
        f.ClassWord = field("classWord") ?? "";
        f.Method = Methods.FirstOrDefault(m => m.Value.ToString() == field("method"))?.Value ?? AdapterMethod.Tlora;
        f.Rank = form.Int("rank", f.Rank);
        f.MinRank = string.IsNullOrWhiteSpace(field("minRank")) ? null : form.Int("minRank", 0);
        f.Alpha = form.Double("alpha", f.Alpha);
        f.Steps = form.Int("steps", f.Steps);
        f.CheckpointInterval = form.Int("checkpointInterval", f.CheckpointInterval);
        f.PreviewSteps = form.Int("previewSteps", f.PreviewSteps);
        f.Seed = form.Seed("seed");
        f.ValidationPrompts = form.Lines("validationPrompts");
        f.MaxRank = form.Int("maxRank", 0);
        if (upload is { } u && u.Length > 0) f.SetImage(u.Name, u.Bytes, u.Length);
        else if (field("imageData") is { Length: > 0 } kept)
        {
            try
            {
                var bytes = Convert.FromBase64String(kept);
                f.SetImage(field("imageName") ?? "image", bytes, bytes.Length);
            }
            catch (FormatException)
            {
                f.ImageError = "the kept image was damaged: choose the file again";
            }
        }
        return f;
    }

    public TrainRequest ToRequest()
    {
        var r = new TrainRequest
        {
            ModelId = ModelId,
            Image = ByteString.CopyFrom(Image ?? throw new InvalidOperationException("no image")),
            Trigger = Trigger.Trim(),
            ClassWord = ClassWord.Trim(),
            Method = Method,
            Rank = Rank,
            MinRank = EffectiveMinRank,
            Alpha = Alpha,
            Steps = Steps,
            CheckpointInterval = CheckpointInterval,
            PreviewSteps = PreviewSteps,
            Seed = Seed,
        };
        r.ValidationPrompts.AddRange(Prompts);
        return r;
    }

    private static string Megabytes(long bytes) => bytes >= 1024 * 1024 ? $"{bytes / (1024.0 * 1024.0):0.#} MiB"
        : bytes >= 1024 ? $"{bytes / 1024.0:0.#} KiB" : $"{bytes} bytes";

    private static bool IsPng(byte[] b) => b.Length > 8 && b[0] == 0x89 && b[1] == 0x50 && b[2] == 0x4E && b[3] == 0x47;

    private static bool IsJpeg(byte[] b) => b.Length > 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
}
