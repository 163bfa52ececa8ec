using TLoRA.Contracts.V1;

namespace TLoRA.WebUI.State;

/// <summary>The sample form: model, optional adapter, prompts (one per line), guidance, steps, seed, images per prompt.</summary>
public sealed class SampleForm
{
    public string ModelId { get; set; } = "";
    public string AdapterId { get; set; } = "";
    public string Prompts { get; set; } = "";
    public string NegativePrompt { get; set; } = "";
    public double GuidanceScale { get; set; } = 5.0;
    public int Steps { get; set; } = 25;
    public ulong Seed { get; set; }
    public int ImagesPerPrompt { get; set; } = 1;
    public double AdapterScale { get; set; } = 1.0;

    public IReadOnlyList<string> PromptList => Prompts.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public IReadOnlyDictionary<string, string> Validate()
    {
        var errors = new Dictionary<string, string>();
        if (ModelId.Length == 0) errors["modelId"] = "choose a model";
        if (PromptList.Count == 0) errors["prompts"] = "write at least one prompt";
        else if (PromptList.Count > 64) errors["prompts"] = $"at most 64 prompts, got {PromptList.Count}";
        if (GuidanceScale is < 1 or > 30 || !double.IsFinite(GuidanceScale)) errors["guidanceScale"] = "must be in 1..30";
        if (Steps is < 1 or > 1000) errors["steps"] = "must be in 1..1000";
        if (ImagesPerPrompt is < 1 or > 16) errors["imagesPerPrompt"] = "must be in 1..16";
        if (AdapterScale is < 0 or > 4 || !double.IsFinite(AdapterScale)) errors["adapterScale"] = "must be in 0..4";
        return errors;
    }

    /// <summary>Reads a posted form by the REST field names; values that do not parse become errors on their field.</summary>
    public static SampleForm Read(Func<string, string?> field, IDictionary<string, string> errors)
    {
        var form = new FormFields(field, errors);
        var f = new SampleForm
        {
            ModelId = field("modelId")?.Trim() ?? "",
            AdapterId = field("adapterId")?.Trim() ?? "",
            Prompts = form.Lines("prompts"),
            NegativePrompt = field("negativePrompt") ?? "",
        };
        f.GuidanceScale = form.Double("guidanceScale", f.GuidanceScale);
        f.Steps = form.Int("steps", f.Steps);
        f.ImagesPerPrompt = form.Int("imagesPerPrompt", f.ImagesPerPrompt);
        f.AdapterScale = form.Double("adapterScale", f.AdapterScale);
        f.Seed = form.Seed("seed");
        return f;
    }

    public SampleRequest ToRequest()
    {
        var r = new SampleRequest
        {
            ModelId = ModelId,
            AdapterId = AdapterId.Trim(),
            NegativePrompt = NegativePrompt.Trim(),
            GuidanceScale = GuidanceScale,
            Steps = Steps,
            Seed = Seed,
            ImagesPerPrompt = ImagesPerPrompt,
        };
        // with no adapter the scale means nothing: left unset (0 would switch an adapter off)
        if (AdapterId.Trim().Length > 0) r.AdapterScale = AdapterScale;
        r.Prompts.AddRange(PromptList);
        return r;
    }
}
