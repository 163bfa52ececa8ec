using System.Globalization;
using System.Text;

namespace TLoRA.WebUI.State;

/// <summary>One curve of a <c>LiveChart</c>: its name, colour, how it is drawn, and its value per point.</summary>
public sealed record ChartSeries(string Name, string Color, bool Dots, Func<StepPoint, double> Value);

/// <summary>
/// Axis ticks and the path text of chart chunks. A chart draws its points in data coordinates inside one SVG group
/// whose transform maps them to the plot, so a change of scale rewrites one attribute; points are grouped in chunks
/// of <see cref="ChunkSize"/>, and a full chunk's path never changes again: a new step sends one short path.
/// </summary>
public static class ChartScale
{
    public const int ChunkSize = 16;

    /// <summary>Tick values covering [min, max] at a "nice" spacing (1, 2 or 5 × 10ⁿ), about <paramref name="count"/> of them;
    /// <paramref name="integers"/> keeps the spacing ≥ 1 (steps are whole numbers: no fractional ticks).</summary>
    public static IReadOnlyList<double> Ticks(double min, double max, int count, bool integers)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max) || max <= min) return [min];
        var raw = (max - min) / Math.Max(1, count);
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var spacing = new[] { 1.0, 2, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw);
        if (integers) spacing = Math.Max(1, Math.Round(spacing));
        var ticks = new List<double>();
        for (var v = Math.Ceiling(min / spacing) * spacing; v <= max + spacing * 1e-9; v += spacing) ticks.Add(Math.Round(v / spacing) * spacing);
        return ticks;
    }

    /// <summary>The range the y axis shows: the values' range widened a little (a flat series gets ±0.5 or ±5 %).</summary>
    public static (double Min, double Max) Range(IEnumerable<double> values)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var v in values)
        {
            if (!double.IsFinite(v)) continue;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        if (min > max) return (0, 1);
        if (max - min < 1e-12)
        {
            var pad = Math.Abs(min) > 1e-12 ? Math.Abs(min) * 0.05 : 0.5;
            return (min - pad, max + pad);
        }
        var margin = (max - min) * 0.05;
        return (min - margin, max + margin);
    }

    /// <summary>The path of points [from, to) (a line also starts at the point before <paramref name="from"/>, so chunks join).</summary>
    public static string Path(IReadOnlyList<StepPoint> points, int from, int to, ChartSeries series)
    {
        var b = new StringBuilder((to - from + 1) * 14);
        var first = series.Dots ? from : Math.Max(0, from - 1);
        for (var i = first; i < to; i++)
        {
            var y = series.Value(points[i]);
            if (!double.IsFinite(y)) continue;
            b.Append(series.Dots || i == first ? 'M' : 'L').Append(points[i].Step.ToString(CultureInfo.InvariantCulture)).Append(' ')
             .Append(y.ToString("G6", CultureInfo.InvariantCulture));
            if (series.Dots) b.Append("h0");
        }
        return b.ToString();
    }

    public static string Label(double v) => v == Math.Round(v) ? v.ToString("0", CultureInfo.InvariantCulture)
        : Math.Abs(v) < 0.01 ? v.ToString("G3", CultureInfo.InvariantCulture) : v.ToString("0.###", CultureInfo.InvariantCulture);
}
