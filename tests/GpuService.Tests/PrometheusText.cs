using System.Globalization;

namespace TLoRA.GpuService.Tests;

/// <summary>Prometheus text format, parsed into (name, labels, value) samples.</summary>
public sealed class PrometheusText
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> samples = [];

    public string Raw { get; private init; } = "";

    /// <summary>Scrapes until <paramref name="ready"/> holds (the metrics observer follows the events, and the exporter
    /// caches a scrape briefly), at most 20 s.</summary>
    public static async Task<PrometheusText> ScrapeUntilAsync(HttpClient http, Func<PrometheusText, bool> ready)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var text = PrometheusText.Parse(await http.GetStringAsync("/metrics"));
            if (ready(text)) return text;
            if (DateTime.UtcNow > until) Assert.Fail("metrics did not reach the expected values:\n" + text.Raw);
            await Task.Delay(200);
        }
    }

    public static PrometheusText Parse(string text)
    {
        var result = new PrometheusText { Raw = text };
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var labels = new Dictionary<string, string>();
            var i = 0;
            while (i < line.Length && line[i] != '{' && line[i] != ' ') i++;
            var name = line[..i];
            if (i < line.Length && line[i] == '{')
            {
                i++;
                while (line[i] != '}')
                {
                    var eq = line.IndexOf('=', i);
                    var key = line[i..eq];
                    var value = new System.Text.StringBuilder();
                    for (i = eq + 2; line[i] != '"'; i++)
                    {
                        if (line[i] == '\\') i++;
                        value.Append(line[i]);
                    }
                    labels[key] = value.ToString();
                    i++;
                    if (line[i] == ',') i++;
                }
                i++;
            }
            var rest = line[i..].Trim();
            result.samples.Add((name, labels, double.Parse(rest.Split(' ')[0], CultureInfo.InvariantCulture)));
        }
        return result;
    }

    /// <summary>The sum of the samples of <paramref name="name"/> whose labels include <paramref name="labels"/>; null
    /// when there are none.</summary>
    public double? Value(string name, params (string Key, string Value)[] labels)
    {
        var matching = samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToArray();
        return matching.Length == 0 ? null : matching.Sum(s => s.Value);
    }
}
