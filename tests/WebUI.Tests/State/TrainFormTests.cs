using TLoRA.Contracts.V1;
using TLoRA.WebUI.State;

namespace TLoRA.WebUI.Tests.State;

public sealed class TrainFormTests
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0];

    private static ModelInfo Model(int maxRank = 32)
    {
        var m = new ModelInfo { ModelId = "sdxl-tiny", Trainable = true, MaxRank = maxRank };
        m.ValidationPrompts.AddRange(["a {0} in the jungle", "a {0} in the snow", "a {0} on the beach"]);
        return m;
    }

    private static TrainForm Valid()
    {
        var f = new TrainForm { ClassWord = "robot" };
        f.UseModel(Model());
        f.SetImage("robot.png", Png, Png.Length);
        return f;
    }

    [Fact]
    public void Paper_defaults_with_the_rank_capped_by_the_model()
    {
        var f = new TrainForm();
        Assert.Equal((64, 32, 1.0, 800, 100), (f.Rank, f.EffectiveMinRank, f.Alpha, f.Steps, f.CheckpointInterval));
        f.UseModel(Model(maxRank: 32));
        Assert.Equal(32, f.Rank);
        Assert.Equal(16, f.EffectiveMinRank);
        Assert.Equal(["a {0} in the jungle", "a {0} in the snow"], f.Prompts);
        f.MinRank = 5;
        Assert.Equal(5, f.EffectiveMinRank);
    }

    [Fact]
    public void A_valid_form_maps_to_the_request()
    {
        var f = Valid();
        f.Method = AdapterMethod.Lora;
        f.Seed = 7;
        Assert.Empty(f.Validate());
        var r = f.ToRequest();
        Assert.Equal(("sdxl-tiny", "sks", "robot", AdapterMethod.Lora, 32, 16, 7UL), (r.ModelId, r.Trigger, r.ClassWord, r.Method, r.Rank, r.MinRank, r.Seed));
        Assert.Equal(Png, r.Image.ToByteArray());
        Assert.Equal(2, r.ValidationPrompts.Count);
    }

    [Theory]
    [InlineData("rank", "at most 32 for this model (its attention dims)")]
    [InlineData("minRank", "must be in 1..rank (8)")]
    [InlineData("checkpointInterval", "must be in 0..steps (10); 0: only at the end")]
    [InlineData("trigger", "one word, e.g. sks")]
    [InlineData("classWord", "the concept's class, e.g. dog")]
    [InlineData("alpha", "must be positive")]
    public void Names_each_bad_field(string field, string message)
    {
        var f = Valid();
        switch (field)
        {
            case "rank": f.Rank = 33; break;
            case "minRank": f.Rank = 8; f.MinRank = 9; break;
            case "checkpointInterval": f.Steps = 10; f.CheckpointInterval = 11; break;
            case "trigger": f.Trigger = "two words"; break;
            case "classWord": f.ClassWord = " "; break;
            case "alpha": f.Alpha = 0; break;
        }
        var errors = f.Validate();
        Assert.Equal(message, errors[field]);
        Assert.Single(errors);
    }

    [Fact]
    public void Refuses_files_that_are_not_images_or_too_large()
    {
        var f = Valid();
        f.SetImage("notes.txt", "hello world"u8.ToArray(), 11);
        Assert.Equal("'notes.txt' is not a PNG or JPEG file", f.Validate()["image"]);
        Assert.Null(f.ImageDataUrl);
        f.MaxImageBytes = 1024;
        f.SetImage("huge.png", null, 3 * 1024 * 1024);
        Assert.Equal("'huge.png' is 3 MiB; the limit is 1 KiB", f.Validate()["image"]);
        f.SetImage("robot.jpg", [0xFF, 0xD8, 0xFF, 0xE0], 4);
        Assert.Empty(f.Validate());
        Assert.StartsWith("data:image/jpeg;base64,", f.ImageDataUrl, StringComparison.Ordinal);
        Assert.Equal("choose a PNG or JPEG image of the concept", new TrainForm { ModelId = "m", ClassWord = "dog" }.Validate()["image"]);
    }
}

public sealed class TrainFormReadTests
{
    [Fact]
    public void Reads_posted_fields_and_names_values_that_do_not_parse()
    {
        var fields = new Dictionary<string, string>
        {
            ["modelId"] = "sdxl-tiny", ["trigger"] = "sks", ["classWord"] = "robot", ["method"] = "Lora", ["rank"] = "8", ["minRank"] = "",
            ["alpha"] = "abc", ["steps"] = "12", ["checkpointInterval"] = "6", ["validationPrompts"] = "a {0}\r\nb {0}", ["maxRank"] = "64",
            ["imageData"] = Convert.ToBase64String([0xFF, 0xD8, 0xFF, 0xE0]), ["imageName"] = "robot.jpg",
        };
        var errors = new Dictionary<string, string>();
        var f = TrainForm.Read(n => fields.GetValueOrDefault(n), upload: null, maxImageBytes: 1024, errors);
        Assert.Equal(("sdxl-tiny", AdapterMethod.Lora, 8, 4, 12, 6, 64), (f.ModelId, f.Method, f.Rank, f.EffectiveMinRank, f.Steps, f.CheckpointInterval, f.MaxRank));
        Assert.Equal(["a {0}", "b {0}"], f.Prompts);
        Assert.Equal("'abc' is not a number", Assert.Single(errors).Value);
        Assert.Equal("robot.jpg", f.ImageName);
        Assert.NotNull(f.Image);
        // a new upload replaces the kept image
        var g = TrainForm.Read(n => fields.GetValueOrDefault(n), ("notes.txt", "hello"u8.ToArray(), 5), 1024, errors);
        Assert.Equal("'notes.txt' is not a PNG or JPEG file", g.Validate()["image"]);
    }

    [Fact]
    public void A_checkpoint_interval_of_0_means_only_at_the_end_and_is_sent_as_set()
    {
        var f = new TrainForm { ModelId = "sdxl-tiny", ClassWord = "robot", Image = [0xFF, 0xD8, 0xFF, 0xE0], CheckpointInterval = 0 };
        Assert.Empty(f.Validate());
        var r = f.ToRequest();
        Assert.True(r.HasCheckpointInterval);
        Assert.Equal(0, r.CheckpointInterval);
    }
}
