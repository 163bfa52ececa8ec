using System.Globalization;
using TLoRA.Gateway.Api;

namespace TLoRA.WebUI.State;

/// <summary>How states, methods, durations and rates read on the pages.</summary>
public static class Display
{
    public static string Method(string? m) => m switch
    {
        Methods.VanillaTLoRA => "Vanilla T-LoRA",
        Methods.LoRA => "LoRA",
        Methods.TLoRA => "T-LoRA",
        _ => "—",
    };

    public static MudBlazor.Color StateColor(string state) => state switch
    {
        JobStates.Running => MudBlazor.Color.Info,
        JobStates.Completed => MudBlazor.Color.Success,
        JobStates.Failed => MudBlazor.Color.Error,
        JobStates.Cancelled or JobStates.Interrupted => MudBlazor.Color.Warning,
        _ => MudBlazor.Color.Default,
    };

    /// <summary>"42 s", "3 min 05 s", "1 h 02 min"; "—" when unknown.</summary>
    public static string Duration(double? seconds)
    {
        if (seconds is not { } s || !double.IsFinite(s) || s < 0) return "—";
        var t = TimeSpan.FromSeconds(Math.Round(s));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours} h {t.Minutes:00} min"
            : t.TotalMinutes >= 1 ? $"{t.Minutes} min {t.Seconds:00} s"
            : $"{t.Seconds} s";
    }

    public static string Rate(double? stepsPerSecond) => stepsPerSecond is { } r && r > 0
        ? r >= 1 ? $"{r.ToString("0.0#", CultureInfo.InvariantCulture)} steps/s" : $"{(1 / r).ToString("0.0#", CultureInfo.InvariantCulture)} s/step"
        : "—";

    public static string Number(double? v, string format = "0.####") => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "—";

    public static string Int(int? v) => v is { } x ? x.ToString(CultureInfo.InvariantCulture) : "—";

    public static string When(DateTimeOffset? t) => t is { } v ? v.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "—";

    /// <summary>done / total in [0, 1]; 0 when there is no total.</summary>
    public static double Fraction(long done, long total) => total <= 0 ? 0 : Math.Clamp((double)done / total, 0, 1);

    /// <summary>A size in bytes as people read it: "812 bytes", "3.4 KiB", "20 MiB", "9.8 GiB".</summary>
    public static string Bytes(long bytes) =>
        bytes >= 1L << 30 ? Scaled(bytes, 1L << 30, "GiB")
        : bytes >= 1L << 20 ? Scaled(bytes, 1L << 20, "MiB")
        : bytes >= 1L << 10 ? Scaled(bytes, 1L << 10, "KiB")
        : $"{bytes} bytes";

    private static string Scaled(long bytes, long unit, string name) => $"{((double)bytes / unit).ToString("0.#", CultureInfo.InvariantCulture)} {name}";

    public static string Percent(double fraction) => (fraction * 100).ToString("0", CultureInfo.InvariantCulture) + " %";
}
