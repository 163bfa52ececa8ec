using TLoRA.Gateway.Api;
using TLoRA.WebUI.State;

namespace TLoRA.WebUI.Tests.State;

public sealed class TrainFormTests
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0];
    private static readonly ModelDto Model = new("sdxl-tiny", "StableDiffusionXLPipeline", 64, true, ["a {0} in the snow", "a {0} on the beach", "a {0}"], 16);

    private static TrainForm Valid()
    {
        var f = new TrainForm { ClassWord = "robot" };
        f.UseModel(Model);
        f.UseDefaults(Defaults());
        f.SetImage("robot.png", Png);
        return f;
    }

    [Fact]
    public void A_too_large_image_is_refused_by_its_size_before_it_is_read_and_names_both_sizes()
    {
        var f = Valid();
        f.MaxImageBytes = 20 * 1024 * 1024;
        Assert.False(f.AcceptSize("big.jpg", 21 * 1024 * 1024));
        Assert.Equal("'big.jpg' is 21 MiB; the limit is 20 MiB", f.Validate()["image"]);
        // the rest of the form is kept
        Assert.Equal("robot", f.ClassWord);
        Assert.Equal("sdxl-tiny", f.ModelId);
    }

    [Fact]
    public void A_file_that_is_not_an_image_is_refused_on_the_image_field()
    {
        var f = Valid();
        f.SetImage("notes.txt", "not an image"u8.ToArray());
        Assert.Equal("'notes.txt' is not a PNG, JPEG or WebP file", f.Validate()["image"]);
    }

    /// <summary>The service decodes WebP too: the form takes it by its signature and previews it as image/webp.</summary>
    [Fact]
    public void A_webp_image_is_taken_and_previewed_as_webp()
    {
        var f = Valid();
        byte[] webp = [.. "RIFF"u8, 30, 0, 0, 0, .. "WEBPVP8L"u8, 17, 0, 0, 0, 0x2F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        f.SetImage("robot.webp", webp);
        Assert.Null(f.ImageError);
        Assert.StartsWith("data:image/webp;base64,", f.ImageDataUrl, StringComparison.Ordinal);
        // a RIFF file that is not WebP (a WAV) is not an image
        f.SetImage("sound.wav", [.. "RIFF"u8, 30, 0, 0, 0, .. "WAVEfmt "u8, 16, 0, 0, 0]);
        Assert.Equal("'sound.wav' is not a PNG, JPEG or WebP file", f.ImageError);
    }

    [Fact]
    public void Rank_is_capped_by_the_model_and_errors_use_the_REST_field_names()
    {
        var f = Valid();
        Assert.Equal(Model.MaxRank, f.Rank);
        f.Rank = Model.MaxRank + 1;
        f.MinRank = Model.MaxRank + 5;
        f.Trigger = "two words";
        f.CheckpointInterval = -1;
        var errors = f.Validate();
        Assert.Equal(["checkpointInterval", "minRank", "rank", "trigger"], errors.Keys.Order());
        Assert.Contains($"at most {Model.MaxRank}", errors["rank"]);
    }

    [Fact]
    public void A_valid_form_has_no_errors_and_sends_the_paper_prompts_it_was_given()
    {
        var f = Valid();
        Assert.Empty(f.Validate());
        var fields = f.Fields();
        Assert.Equal(Model.ValidationPrompts.Take(2), fields.Where(p => p.Key == "validationPrompts").Select(p => p.Value));
        Assert.Contains(fields, p => p.Key == "rank" && p.Value == Model.MaxRank.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // empty advanced fields take the service's defaults: not sent
        Assert.DoesNotContain(fields, p => p.Key is "learningRate" or "resolution" or "init" or "previewSteps");
    }

    [Fact]
    public void Plain_LoRA_sends_no_r_min_or_alpha_and_does_not_check_them()
    {
        var f = Valid();
        f.Method = Methods.LoRA;
        f.MinRank = 999;
        f.Alpha = -1;
        Assert.False(f.UsesSchedule);
        Assert.Empty(f.Validate());
        Assert.DoesNotContain(f.Fields(), p => p.Key is "minRank" or "alpha");
    }

    [Fact]
    public void Train_again_copies_every_setting_of_the_job_record()
    {
        var f = Valid();
        var settings = new TrainSettingsDto(Methods.VanillaTLoRA, 8, 3, 2.5, "principal", 10, 0, 42, 2e-4, 512, ["a {0} in the snow"], 2, 25, 7.5, "zwx", "cat");
        f.CopyFrom(new JobDto("gpu-1.train-a", "train", JobStates.Completed, 0, null, null, null, 9, 10, 10, "sdxl-tiny", null, null, "zwx", "cat",
            Methods.VanillaTLoRA, "gpu-1", settings));
        Assert.Equal((Methods.VanillaTLoRA, 8, 3, 2.5, 10, 0), (f.Method, f.Rank, f.MinRank, f.Alpha, f.Steps, f.CheckpointInterval));
        Assert.Equal((42UL, 2e-4, 512, "principal", 2, 25, 7.5), (f.Seed, f.LearningRate, f.Resolution, f.Init, f.ImagesPerPrompt, f.PreviewSteps, f.PreviewGuidance));
        Assert.Equal(("zwx", "cat", "a {0} in the snow"), (f.Trigger, f.ClassWord, f.ValidationPrompts));
        Assert.Equal("checkpointInterval", Assert.Single(f.Fields(), kv => kv.Key == "checkpointInterval").Key);
        Assert.Empty(f.Validate());
    }

    private static TrainDefaultsDto Defaults(int maxSteps = 500, int maxPrompts = 3) => new(
        new TrainSettingsDto(Methods.TLoRA, 32, 16, 1.5, "last", 400, 50, 0, 3e-4, 0, ["a {0}"], 2, 20, 4, "sks", ""),
        maxSteps, 4, 30, maxPrompts, 9, 1024, 64, 2048);

    [Fact]
    public void The_services_defaults_start_the_form_and_its_limits_are_checked_here()
    {
        var d = Defaults();
        var f = new TrainForm { ClassWord = "robot" };
        f.UseModel(Model);
        f.UseDefaults(d);
        // the service's rank, clamped to the model's limit; α, steps and the checkpoint interval as the service has them
        Assert.Equal((Math.Min(d.Defaults.Rank, Model.MaxRank), d.Defaults.Alpha, d.Defaults.Steps, d.Defaults.CheckpointInterval),
            (f.Rank, f.Alpha, f.Steps, f.CheckpointInterval));
        Assert.Null(f.MinRank);
        Assert.Equal(d.MaxImageBytes, f.MaxImageBytes);
        Assert.Equal($"default: {d.Defaults.PreviewSteps}", f.DefaultText(s => s.PreviewSteps));
        f.SetImage("robot.png", Png);
        Assert.Empty(f.Validate());

        f.Steps = d.MaxSteps + 1;
        f.PreviewSteps = d.MaxPreviewSteps + 1;
        f.ImagesPerPrompt = d.MaxImagesPerPrompt + 1;
        f.PreviewGuidance = d.MaxPreviewGuidance + 1;
        f.Resolution = d.MaxResolution + 8;
        f.ValidationPrompts = string.Join('\n', Enumerable.Range(0, d.MaxValidationPrompts + 1).Select(i => $"p{i}"));
        var errors = f.Validate();
        Assert.Equal($"must be in 1..{d.MaxSteps}", errors["steps"]);
        Assert.Equal($"must be in 1..{d.MaxPreviewSteps}", errors["previewSteps"]);
        Assert.Equal($"must be in 1..{d.MaxImagesPerPrompt}", errors["imagesPerPrompt"]);
        Assert.Contains($"{d.MaxResolution}", errors["resolution"], StringComparison.Ordinal);
        Assert.Contains($"{d.MaxValidationPrompts}", errors["validationPrompts"], StringComparison.Ordinal);
        Assert.True(errors.ContainsKey("previewGuidance"));
    }

    [Fact]
    public void A_choice_the_user_made_is_kept_when_the_defaults_arrive()
    {
        var f = new TrainForm { Steps = 12 };
        f.UseDefaults(Defaults());
        Assert.Equal(12, f.Steps);
    }
}
