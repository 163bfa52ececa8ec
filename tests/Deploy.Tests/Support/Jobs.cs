using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace TLoRA.Deploy.Tests.Support;

/// <summary>Jobs through a gateway's REST API.</summary>
internal static class Jobs
{
    /// <summary>POSTs a tiny training job (sdxl-tiny, rank 4, one preview prompt) and returns its JSON.</summary>
    public static async Task<JsonElement> SubmitAsync(HttpClient gateway, int steps, int checkpointInterval)
    {
        var image = File.ReadAllBytes(Path.Combine(Programs.Fixtures, "concept", "toy-robot.jpg"));
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(image), "image", "toy-robot.jpg" },
            { new StringContent("sdxl-tiny"), "modelId" },
            { new StringContent("sks"), "trigger" },
            { new StringContent("robot"), "classWord" },
            { new StringContent("tlora"), "method" },
            { new StringContent("4"), "rank" },
            { new StringContent(steps.ToString(System.Globalization.CultureInfo.InvariantCulture)), "steps" },
            { new StringContent(checkpointInterval.ToString(System.Globalization.CultureInfo.InvariantCulture)), "checkpointInterval" },
            { new StringContent("1"), "previewSteps" },
            { new StringContent("1"), "seed" },
            { new StringContent("a {0}"), "validationPrompts" },
        };
        using var response = await gateway.PostAsync("/api/jobs", form);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static async Task<(HttpStatusCode Status, JsonElement? Job)> GetAsync(HttpClient gateway, string jobId)
    {
        using var response = await gateway.GetAsync($"/api/jobs/{jobId}");
        return (response.StatusCode, response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement>() : null);
    }

    public static async Task<JsonElement[]> EventsAsync(HttpClient gateway, string jobId, long from = 1) =>
        (await gateway.GetFromJsonAsync<JsonElement[]>($"/api/jobs/{jobId}/events?from={from}"))!;

    /// <summary>Polls the job's events until <paramref name="until"/> holds for the events so far.</summary>
    public static async Task<List<JsonElement>> EventsUntilAsync(HttpClient gateway, string jobId, Func<List<JsonElement>, bool> until,
        TimeSpan timeout, Func<string> logs)
    {
        var events = new List<JsonElement>();
        await LocalCluster.WaitAsync(async () =>
        {
            try
            {
                events.AddRange(await EventsAsync(gateway, jobId, events.Count + 1));
            }
            catch (HttpRequestException)
            {
            }
            return until(events);
        }, timeout, () => $"job {jobId}: the expected events did not arrive; {events.Count} so far\n{logs()}");
        return events;
    }

    public static bool Ended(List<JsonElement> events) => events.Count > 0 && events[^1].GetProperty("final").GetBoolean();

    public static string Type(JsonElement e) => e.GetProperty("type").GetString()!;

    public static long Sequence(JsonElement e) => e.GetProperty("sequence").GetInt64();

    public static string ServiceOf(string jobId) => jobId[..jobId.IndexOf('.', StringComparison.Ordinal)];
}
