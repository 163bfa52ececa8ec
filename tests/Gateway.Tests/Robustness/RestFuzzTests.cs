using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;

namespace TLoRA.Gateway.Tests.Robustness;

/// <summary>Issue 14: a bounded random run (CsCheck) over REST bodies: no 500 (nor 502), and /health keeps answering.</summary>
[Collection(GatewayCollection.Name)]
public sealed class RestFuzzTests(GatewayFixture fx)
{
    private static readonly string[] SampleFields =
        ["modelId", "adapterId", "prompts", "negativePrompt", "guidanceScale", "steps", "seed", "width", "height", "imagesPerPrompt", "adapterScale"];

    private static readonly Gen<JsonNode?> Value = Gen.OneOf(
        Gen.Bool.Select(_ => (JsonNode?)null),
        Gen.Int.Select(i => (JsonNode?)JsonValue.Create(i)),
        Gen.Double.Where(double.IsFinite).Select(d => (JsonNode?)JsonValue.Create(d)),
        Gen.String[0, 30].Select(s => (JsonNode?)JsonValue.Create(s)),
        Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b)),
        Gen.String[0, 10].Array[0, 4].Select(a => (JsonNode?)new JsonArray(a.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray())),
        Gen.Bool.Select(_ => (JsonNode?)new JsonArray((JsonNode?)null)));

    private static readonly Gen<string> SampleBodies = Gen.OneOf(
        Gen.Select(Gen.Int[0, SampleFields.Length - 1].Array[0, 6], Value.Array[6], (fields, values) =>
        {
            var o = new JsonObject { ["modelId"] = "sdxl-tiny", ["prompts"] = new JsonArray("a robot"), ["steps"] = 1 };
            for (var i = 0; i < fields.Length; i++) o[SampleFields[fields[i]]] = values[i]?.DeepClone();
            return o.ToJsonString();
        }),
        Gen.String[0, 200]);

    [Fact]
    public async Task Random_sample_bodies_and_form_fields_never_get_a_500_and_health_keeps_answering()
    {
        var statuses = new Dictionary<HttpStatusCode, int>();
        await SampleBodies.SampleAsync(async body =>
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await fx.Http.PostAsync("/api/samples", content);
            lock (statuses) statuses[response.StatusCode] = statuses.GetValueOrDefault(response.StatusCode) + 1;
            Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode} for {body}: {await response.Content.ReadAsStringAsync()}");
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                var id = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("jobId").GetString();
                using var _ = await fx.Http.PostAsync($"/api/jobs/{id}/cancel", null);
            }
        }, iter: 150, threads: 1);

        var forms = Gen.Select(Gen.Byte.Array[0, 256], Gen.String[0, 20].Array[8], (image, values) => (image, values));
        await forms.SampleAsync(async f =>
        {
            using var form = new MultipartFormDataContent();
            form.Add(new ByteArrayContent(f.image), "image", "x.png");
            string[] names = ["modelId", "rank", "alpha", "steps", "method", "learningRate", "checkpointInterval", "seed"];
            for (var i = 0; i < names.Length; i++) form.Add(new StringContent(f.values[i]), names[i]);
            using var response = await fx.Http.PostAsync("/api/jobs", form);
            Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }, iter: 100, threads: 1);

        using var health = await fx.Http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.True(statuses.GetValueOrDefault(HttpStatusCode.BadRequest) > 0);
    }
}
