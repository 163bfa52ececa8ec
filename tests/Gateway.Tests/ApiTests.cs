using TLoRA.Engine.Tests;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TLoRA.Gateway.Api;

namespace TLoRA.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class ApiTests(GatewayFixture fx)
{
    [Fact]
    public async Task Tiny_training_job_runs_end_to_end_through_the_gateway()
    {
        var job = await fx.SubmitTinyJobAsync();
        var id = job.GetProperty("jobId").GetString()!;
        Assert.Equal("train", job.GetProperty("kind").GetString());

        var events = await fx.EventsUntilEndAsync(id, TimeSpan.FromMinutes(3));
        Assert.Equal("trainCompleted", events[^1].GetProperty("type").GetString());
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.GetProperty("sequence").GetInt64()));
        Assert.All(events, e => Assert.Equal(id, e.GetProperty("jobId").GetString()));
        Assert.Single(events, e => e.GetProperty("final").GetBoolean());
        Assert.True(events[^1].GetProperty("final").GetBoolean());
        Assert.Equal("queued", events[0].GetProperty("type").GetString());
        Assert.Equal(2, events.Count(e => e.GetProperty("type").GetString() == "trainStep"));
        Assert.Contains(events, e => e.GetProperty("type").GetString() == "trainPreviews");

        var checkpoint = events.Last(e => e.GetProperty("type").GetString() == "trainCheckpoint").GetProperty("data");
        var preview = checkpoint.GetProperty("previews")[0];
        Assert.StartsWith("data:image/png;base64,", preview.GetProperty("thumbnailDataUrl").GetString());
        var imageUrl = preview.GetProperty("imageUrl").GetString()!;
        Assert.StartsWith("/api/images/", imageUrl);
        using (var image = await fx.Http.GetAsync(imageUrl))
        {
            Assert.Equal(HttpStatusCode.OK, image.StatusCode);
            Assert.Equal("image/png", image.Content.Headers.ContentType?.MediaType);
            var png = await image.Content.ReadAsByteArrayAsync();
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        }

        var adapterId = events[^1].GetProperty("data").GetProperty("adapterId").GetString()!;
        using (var adapter = await fx.Http.GetAsync($"/api/adapters/{adapterId}"))
        {
            Assert.Equal(HttpStatusCode.OK, adapter.StatusCode);
            Assert.Equal("application/octet-stream", adapter.Content.Headers.ContentType?.MediaType);
            Assert.EndsWith(".safetensors", adapter.Content.Headers.ContentDisposition?.FileNameStar);
            var bytes = await adapter.Content.ReadAsByteArrayAsync();
            Assert.Equal(bytes.Length, adapter.Content.Headers.ContentLength);
            var headerLength = (int)BitConverter.ToUInt64(bytes, 0);
            Assert.Equal((byte)'{', bytes[8]);
            Assert.True(8 + headerLength <= bytes.Length);
        }
        var inspect = await fx.Http.GetFromJsonAsync<JsonElement>($"/api/adapters/{adapterId}/inspect");
        Assert.Equal(4, inspect.GetProperty("adapter").GetProperty("rank").GetInt32());
        Assert.True(inspect.GetProperty("summary").GetProperty("layers").GetInt32() > 0);

        var fetched = await fx.Http.GetFromJsonAsync<JsonElement>($"/api/jobs/{id}");
        Assert.Equal("completed", fetched.GetProperty("state").GetString());
        Assert.Equal(events.Count, fetched.GetProperty("lastSequence").GetInt64());
        // every setting, as the service applied its defaults (rank 4 was sent; r_min defaults to half of it)
        var settings = fetched.GetProperty("settings");
        Assert.Equal((4, 2, 2, "tlora", "last"), (settings.GetProperty("rank").GetInt32(), settings.GetProperty("minRank").GetInt32(),
            settings.GetProperty("steps").GetInt32(), settings.GetProperty("method").GetString(), settings.GetProperty("init").GetString()));
        Assert.True(settings.GetProperty("learningRate").GetDouble() > 0);
        // the concept image as uploaded, with its own type
        using (var concept = await fx.Http.GetAsync($"/api/jobs/{id}/image"))
        {
            Assert.Equal(HttpStatusCode.OK, concept.StatusCode);
            Assert.Equal("image/jpeg", concept.Content.Headers.ContentType?.MediaType);
            Assert.Equal(File.ReadAllBytes(Path.Combine(FixturePaths.Root, "concept", "toy-robot.jpg")), await concept.Content.ReadAsByteArrayAsync());
        }
        using (var none = await fx.Http.GetAsync("/api/jobs/no-such-job/image"))
            Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        var list = await fx.Http.GetFromJsonAsync<JsonElement[]>("/api/jobs");
        Assert.Contains(list!, j => j.GetProperty("jobId").GetString() == id);
        Assert.Equal(JsonValueKind.Null, list!.First(j => j.GetProperty("jobId").GetString() == id).GetProperty("settings").ValueKind);
        // only an interrupted job resumes: a completed one is a conflict, an unknown one is not found
        using (var resume = await fx.Http.PostAsync($"/api/jobs/{id}/resume", null))
            await AssertProblemAsync(resume, HttpStatusCode.Conflict, null);
        using (var unknown = await fx.Http.PostAsync("/api/jobs/no-such-job/resume", null))
            await AssertProblemAsync(unknown, HttpStatusCode.NotFound, null);
        var tail = await fx.Http.GetFromJsonAsync<JsonElement[]>($"/api/jobs/{id}/events?from={events.Count}");
        Assert.Equal("trainCompleted", Assert.Single(tail!).GetProperty("type").GetString());
    }

    [Fact]
    public async Task Train_defaults_and_limits_are_the_services()
    {
        var d = await fx.Http.GetFromJsonAsync<JsonElement>("/api/train/defaults");
        var engine = new TLoRA.Engine.Training.TrainingOptions();
        var defaults = d.GetProperty("defaults");
        Assert.Equal((engine.Rank, engine.Steps, engine.CheckpointInterval, engine.Alpha, engine.LearningRate),
            (defaults.GetProperty("rank").GetInt32(), defaults.GetProperty("steps").GetInt32(), defaults.GetProperty("checkpointInterval").GetInt32(),
             defaults.GetProperty("alpha").GetDouble(), defaults.GetProperty("learningRate").GetDouble()));
        Assert.Equal(engine.ValidationPrompts.Count, defaults.GetProperty("validationPrompts").GetArrayLength());
        Assert.Equal((TLoRA.GpuService.Jobs.RequestValidation.MaxSteps, TLoRA.GpuService.Jobs.RequestValidation.MaxValidationPrompts,
                TLoRA.GpuService.Jobs.RequestValidation.MaxSide),
            (d.GetProperty("maxSteps").GetInt32(), d.GetProperty("maxValidationPrompts").GetInt32(), d.GetProperty("maxResolution").GetInt32()));
        Assert.Equal(new TLoRA.GpuService.Service.GpuServiceOptions().MaxImageBytes, d.GetProperty("maxImageBytes").GetInt64());
    }

    [Fact]
    public async Task A_file_that_is_not_an_image_is_a_400_naming_image()
    {
        using var form = GatewayFixture.TinyForm("not an image at all"u8.ToArray(), "robot.jpg");
        using var response = await fx.Http.PostAsync("/api/jobs", form);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "image");
    }

    /// <summary>The GPU service decodes WebP, so the gateway's form takes it too, and serves it back as WebP.</summary>
    [Fact]
    public async Task A_webp_concept_image_is_taken_and_served_back_as_webp()
    {
        byte[] webp;
        using (var bitmap = SkiaSharp.SKBitmap.Decode(Path.Combine(FixturePaths.Root, "concept", "toy-robot.jpg")))
        using (var pixels = bitmap.PeekPixels())
        using (var data = pixels.Encode(new SkiaSharp.SKWebpEncoderOptions(SkiaSharp.SKWebpEncoderCompression.Lossy, 90)))
            webp = data!.ToArray();
        Assert.Equal("image/webp", ImageTypes.MediaType(webp));
        using var form = GatewayFixture.TinyForm(webp, "toy-robot.webp", steps: 1);
        using var response = await fx.Http.PostAsync("/api/jobs", form);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetString()!;
        var events = await fx.EventsUntilEndAsync(id, TimeSpan.FromMinutes(3));
        Assert.Equal("trainCompleted", events[^1].GetProperty("type").GetString());
        using var concept = await fx.Http.GetAsync($"/api/jobs/{id}/image");
        Assert.Equal("image/webp", concept.Content.Headers.ContentType?.MediaType);
        Assert.Equal(webp, await concept.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_missing_image_is_a_400_naming_image()
    {
        using var form = new MultipartFormDataContent { { new StringContent("sdxl-tiny"), "modelId" } };
        using var response = await fx.Http.PostAsync("/api/jobs", form);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "image");
    }

    [Fact]
    public async Task A_service_refusal_names_every_bad_field_by_its_rest_name()
    {
        using var form = GatewayFixture.TinyForm(File.ReadAllBytes(Path.Combine(Engine.Tests.FixturePaths.Root, "concept", "toy-robot.jpg")), "r.jpg", steps: -3);
        form.Add(new StringContent("9999"), "minRank");
        form.Add(new StringContent("-1"), "checkpointInterval");
        using var response = await fx.Http.PostAsync("/api/jobs", form);
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "steps");
        Assert.Equal(["checkpointInterval", "minRank", "steps"], problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order());
        Assert.All(problem.GetProperty("errors").EnumerateObject(), p => Assert.False(string.IsNullOrWhiteSpace(p.Value[0].GetString())));
    }

    [Theory]
    [InlineData("/api/jobs/no-such-job")]
    [InlineData("/api/jobs/no-such-job/events?from=1")]
    [InlineData("/api/images/no-such-image")]
    [InlineData("/api/adapters/no-such-adapter")]
    [InlineData("/api/adapters/no-such-adapter/inspect")]
    public async Task Unknown_ids_are_404(string path)
    {
        using var response = await fx.Http.GetAsync(path);
        await AssertProblemAsync(response, HttpStatusCode.NotFound, null);
    }

    [Fact]
    public async Task Models_health_and_openapi_describe_the_gateway()
    {
        var models = await fx.Http.GetFromJsonAsync<JsonElement[]>("/api/models");
        Assert.Contains(models!, m => m.GetProperty("modelId").GetString() == "sdxl-tiny" && m.GetProperty("trainable").GetBoolean());
        Assert.All(models!, m =>
        {
            var prompts = m.GetProperty("validationPrompts").EnumerateArray().Select(p => p.GetString()).ToList();
            Assert.Equal(25, prompts.Count);
            Assert.Equal("a {0} in the jungle", prompts[0]);
        });

        var health = await fx.Http.GetFromJsonAsync<JsonElement>("/health");
        Assert.Equal("healthy", health.GetProperty("status").GetString());
        Assert.Equal("healthy", health.GetProperty("services")[0].GetProperty("status").GetString());

        var openApi = await fx.Http.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        Assert.StartsWith("3.", openApi.GetProperty("openapi").GetString());
        var paths = openApi.GetProperty("paths");
        foreach (var p in new[] { "/api/jobs", "/api/jobs/{id}", "/api/jobs/{id}/cancel", "/api/jobs/{id}/resume", "/api/jobs/{id}/events", "/api/images/{id}", "/api/samples",
                     "/api/adapters/{id}", "/api/adapters/{id}/inspect", "/api/models", "/api/jobs/{id}/image", "/api/train/defaults", "/health" })
            Assert.True(paths.TryGetProperty(p, out _), $"openapi lacks {p}");
        Assert.True(paths.GetProperty("/api/jobs").GetProperty("post").GetProperty("requestBody").GetProperty("content").TryGetProperty("multipart/form-data", out _));
    }

    internal static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? field)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        if (field is not null) Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no errors.{field} in {body}");
        return problem;
    }
}
