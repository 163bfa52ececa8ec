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
        var file = form.Files.GetFile("image") ?? throw ApiException.Invalid("image", $"required: a {ImageTypes.Accepted} file");
        var bytes = new byte[file.Length];
        await using (var s = file.OpenReadStream()) await s.ReadExactlyAsync(bytes, ct).ConfigureAwait(false);
        if (ImageTypes.MediaType(bytes) is null) throw ApiException.Invalid("image", $"'{file.FileName}' is not a {ImageTypes.Accepted} file");
        var r = new TrainRequest
        {
            ModelId = Text(form, "modelId") ?? throw ApiException.Invalid("modelId", "required"),
            Image = ByteString.CopyFrom(bytes),
            Trigger = Text(form, "trigger") ?? "",
            ClassWord = Text(form, "classWord") ?? "",
            Method = Method(Text(form, "method")),
            Init = Init(Text(form, "init")),
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
        if (Text(form, "gradientCheckpointing") is { } checkpointing)
            r.GradientCheckpointing = bool.TryParse(checkpointing, out var on) ? on : throw ApiException.Invalid("gradientCheckpointing", "must be true or false");
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

    public static InitComponents Init(string? value) => value?.ToLowerInvariant() switch
    {
        null or "" => InitComponents.Unspecified,
        "last" => InitComponents.Last,
        "middle" => InitComponents.Middle,
        "principal" => InitComponents.Principal,
        _ => throw ApiException.Invalid("init", $"'{value}' is not one of last, middle, principal"),
    };


    private static string? Text(IFormCollection form, string name) =>
        form.TryGetValue(name, out StringValues v) && !StringValues.IsNullOrEmpty(v) && !string.IsNullOrWhiteSpace(v[^1]) ? v[^1]!.Trim() : null;

    private static int Int(IFormCollection form, string name) => Text(form, name) is not { } s ? 0
        : int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw ApiException.Invalid(name, $"'{s}' is not an integer");

    private static double Double(IFormCollection form, string name) => Text(form, name) is not { } s ? 0
        : double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : throw ApiException.Invalid(name, $"'{s}' is not a number");
}

/// <summary>POST /api/samples: the body to the request (absent fields take the service's defaults).</summary>
public static class SampleForms
{
    public static SampleRequest ToRequest(SampleBody b)
    {
        var r = new SampleRequest
        {
            ModelId = b.ModelId ?? throw ApiException.Invalid("modelId", "required"), AdapterId = b.AdapterId ?? "", NegativePrompt = b.NegativePrompt ?? "",
            Steps = b.Steps ?? 0, Seed = b.Seed ?? 0, Width = b.Width ?? 0, Height = b.Height ?? 0, ImagesPerPrompt = b.ImagesPerPrompt ?? 0,
        };
        if (b.GuidanceScale is { } guidance) r.GuidanceScale = guidance;
        if (b.AdapterScale is { } scale) r.AdapterScale = scale;
        if (b.Prompts is not null && b.Prompts.Any(p => p is null)) throw ApiException.Invalid("prompts", "must be strings, not null");
        r.Prompts.AddRange(b.Prompts ?? []);
        return r;
    }
}
