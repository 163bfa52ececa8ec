using System.Globalization;
using Google.Protobuf;
using Microsoft.Extensions.Primitives;
using TLoRA.Contracts.V1;

namespace TLoRA.Gateway.Api;

/// <summary>POST /api/jobs: a multipart form with the image file and the options as fields (absent fields take the
/// service's defaults; checkpointInterval 0 saves only at the end).</summary>
public static class Forms
{
    public static async Task<TrainRequest> ParseTrainAsync(HttpRequest request, CancellationToken ct)
    {
        if (!request.HasFormContentType) throw ApiException.Invalid("image", "send multipart/form-data with an 'image' file and the options as fields");
        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(ct).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw new ApiException(StatusCodes.Status413PayloadTooLarge, "image", e.Message);
        }
        var file = form.Files.GetFile("image") ?? throw ApiException.Invalid("image", "required: a PNG or JPEG file");
        var bytes = new byte[file.Length];
        await using (var s = file.OpenReadStream()) await s.ReadExactlyAsync(bytes, ct).ConfigureAwait(false);
        if (!IsPng(bytes) && !IsJpeg(bytes)) throw ApiException.Invalid("image", $"'{file.FileName}' is not a PNG or JPEG file");
        var r = new TrainRequest
        {
            ModelId = Text(form, "modelId") ?? throw ApiException.Invalid("modelId", "required"),
            Image = ByteString.CopyFrom(bytes),
            Trigger = Text(form, "trigger") ?? "",
            ClassWord = Text(form, "classWord") ?? "",
            Method = Method(Text(form, "method")),
            Rank = Int(form, "rank"),
            MinRank = Int(form, "minRank"),
            Alpha = Double(form, "alpha"),
            Steps = Int(form, "steps"),
            Seed = Text(form, "seed") is { } seed ? ulong.TryParse(seed, CultureInfo.InvariantCulture, out var v) ? v : throw ApiException.Invalid("seed", "must be a non-negative integer") : 0,
            Resolution = Int(form, "resolution"),
            LearningRate = Double(form, "learningRate"),
            PreviewSteps = Int(form, "previewSteps"),
            ImagesPerPrompt = Int(form, "imagesPerPrompt"),
        };
        if (Text(form, "checkpointInterval") is not null) r.CheckpointInterval = Int(form, "checkpointInterval");
        if (Text(form, "previewGuidance") is not null) r.PreviewGuidance = Double(form, "previewGuidance");
        r.ValidationPrompts.AddRange(form["validationPrompts"].Where(p => !string.IsNullOrWhiteSpace(p))!);
        return r;
    }

    public static AdapterMethod Method(string? value) => value?.ToLowerInvariant().Replace('_', '-') switch
    {
        null or "" => AdapterMethod.Unspecified,
        "tlora" or "t-lora" => AdapterMethod.Tlora,
        "vanilla-tlora" or "vanilla-t-lora" => AdapterMethod.VanillaTlora,
        "lora" => AdapterMethod.Lora,
        _ => throw ApiException.Invalid("method", $"'{value}' is not one of tlora, vanilla-tlora, lora"),
    };

    private static bool IsPng(byte[] b) => b.Length > 8 && b[0] == 0x89 && b[1] == 0x50 && b[2] == 0x4E && b[3] == 0x47;

    private static bool IsJpeg(byte[] b) => b.Length > 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;

    private static string? Text(IFormCollection form, string name) =>
        form.TryGetValue(name, out StringValues v) && !StringValues.IsNullOrEmpty(v) && !string.IsNullOrWhiteSpace(v[^1]) ? v[^1]!.Trim() : null;

    private static int Int(IFormCollection form, string name) => Text(form, name) is not { } s ? 0
        : int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw ApiException.Invalid(name, $"'{s}' is not an integer");

    private static double Double(IFormCollection form, string name) => Text(form, name) is not { } s ? 0
        : double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : throw ApiException.Invalid(name, $"'{s}' is not a number");
}

/// <summary>POST /api/samples (absent fields take the service's defaults; adapterScale 0 switches the adapter off,
/// guidanceScale 0 or 1 turns guidance off).</summary>
public sealed record SampleBody(string? ModelId, string? AdapterId, string[]? Prompts, string? NegativePrompt, double? GuidanceScale, int? Steps,
    ulong? Seed, int? Width, int? Height, int? ImagesPerPrompt, double? AdapterScale)
{
    public SampleRequest ToRequest()
    {
        var r = new SampleRequest
        {
            ModelId = ModelId ?? throw ApiException.Invalid("modelId", "required"), AdapterId = AdapterId ?? "", NegativePrompt = NegativePrompt ?? "",
            Steps = Steps ?? 0, Seed = Seed ?? 0, Width = Width ?? 0, Height = Height ?? 0, ImagesPerPrompt = ImagesPerPrompt ?? 0,
        };
        if (GuidanceScale is { } guidance) r.GuidanceScale = guidance;
        if (AdapterScale is { } scale) r.AdapterScale = scale;
        if (Prompts is not null && Prompts.Any(p => p is null)) throw ApiException.Invalid("prompts", "must be strings, not null");
        r.Prompts.AddRange(Prompts ?? []);
        return r;
    }
}
